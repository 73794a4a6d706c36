"""Identity and access: tenants, staff accounts, sign-in and tokens."""
