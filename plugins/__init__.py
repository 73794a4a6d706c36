"""Built-in integrations. Each is a plugin package registered through the ``seva`` entry-point
group in pyproject.toml, exactly as a partner's package would be; core never imports them."""
