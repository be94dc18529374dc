"""Slack-facing parts: Block Kit builders, text escaping, App Home, the log form, people and installs."""
