"""Commitments (PRODUCT.md §4.10): what we owe a client. Promises we made, by a day, and issues they wait on us
to fix, owed a status update every RAPPORT_UPDATE_EVERY business days. The rules that nudge about them are the
nudge engine's (bot/nudges/rules.py, planner.py); this package records them and shows them."""
