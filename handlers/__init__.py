"""Bolt listeners, one module per Slack surface. Thin: read the payload, call `bot`, render."""
