"""Customers and the services done for them: records, service records, CSV import."""
