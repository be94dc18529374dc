"""Persistence for Rapport: models, engine and session factory, queries, migrations. Knows nothing of Slack."""
