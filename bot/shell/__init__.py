"""`rapport shell`: the offline console that shows what Slack would show, as text."""
