"""The GraphQL API: types, permissions, loaders, the ASGI app and the printed SDL."""
