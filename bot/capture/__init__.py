"""Capture from Slack (PRODUCT.md §4.9): a linked channel's messages as touches, questions waiting for an
answer, and the Log to Rapport shortcut."""
