"""Goals (PRODUCT.md §4.11): what success looks like for a client, agreed up front with honest odds. This package
holds the rules (agreeing, the weekly confidence check, at risk, met or missed, calibration), free of any command
grammar or Block Kit; the nudge engine plans their cards (bot/nudges/planner.py) and the surfaces show them."""
