"""Storage: the Tortoise configuration, the SQLite backend and transactions with after-commit work."""
