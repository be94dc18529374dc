"""The baseline: a Bolt app whose /client only acknowledges, served exactly as Rapport is."""

from __future__ import annotations

import os

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk import WebClient

app = App(client=WebClient(token="xoxb-bench", base_url=os.environ["SLACK_API_URL"]),
          signing_secret=os.environ["SLACK_SIGNING_SECRET"])


@app.command("/client")
def ack_only(ack):  # type: ignore[no-untyped-def]
    ack(text="ok")


@app.event("message")
def ignore(event):  # type: ignore[no-untyped-def]
    """Events are acknowledged by Bolt before any listener runs: this one does nothing."""


wsgi = SlackRequestHandler(app)
