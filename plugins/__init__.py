"""Built-in integrations, each a pluggy plugin registered through the ``seva`` entry-point group."""
