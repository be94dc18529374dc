"""The one error handler: the user gets a short apology with a reference; the log gets the traceback."""

from __future__ import annotations

import json
import logging
import uuid

from slack_bolt import App, BoltResponse

from bot import blocks as b


def register(app: App) -> None:
    @app.error
    def on_error(error: Exception, logger: logging.Logger) -> BoltResponse:
        ref = uuid.uuid4().hex[:8]
        logger.error("unhandled error, ref %s", ref, exc_info=error)
        sorry = b.error(f"Sorry, something went wrong on our side and nothing was changed. "
                        f"If it keeps happening, mention reference {ref}.")
        return BoltResponse(status=200, body=json.dumps(sorry.as_message()),
                            headers={"content-type": "application/json;charset=utf-8"})
