"""Relationship facts: what can be logged, what a client's history says, health and its trend."""
