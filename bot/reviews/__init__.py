"""Monthly reviews (PRODUCT.md §4.12): a client's month in fixed figures, frozen when the month ends, shown to the
team, exported as CSV, listed to each owner on the month's first workday, and shared with the client with a chart."""
