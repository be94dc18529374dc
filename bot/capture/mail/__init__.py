"""Capture from email and calendars (PRODUCT.md §4.15): touches logged by themselves, metadata only."""
