"""The domain: services that hold the business rules, grouped by the product's parts.

Layers, top to bottom (import-linter checks them): identity and privacy; billing; messaging;
customers; jobs; platform (the plugin contract); storage, common and models."""
