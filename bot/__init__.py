"""Rapport's core: settings, command parsing, rules, Block Kit, the CLI and the composition root."""
