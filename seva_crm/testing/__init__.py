"""Helpers for testing Seva CRM and its plugins, installed with the package (see docs/testing.md)."""
