"""Clients in bulk: CSV import and export, and `rapport seed-demo`."""
