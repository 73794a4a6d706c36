"""Built-in plugins: each registers through the ``seva`` entry-point group like a partner's package."""
