"""The monthly review of a client (PRODUCT.md §4.12): its numbers and the chart shared with it."""
