"""Handoffs, project closeouts and the referral channel (PRODUCT.md §4.13-4.14): the rules, as functions of state
and `now`. They move commitments and goals, so they sit above bot/commitments in the domain."""
