"""The one error handler: the user gets a short apology with a reference; the log gets the traceback."""

from __future__ import annotations

import json
import logging
import uuid

from slack_bolt import App, BoltResponse, Respond

from bot import blocks as b


def register(app: App) -> None:
    @app.error
    def on_error(error: Exception, logger: logging.Logger, response: BoltResponse | None,
                 respond: Respond | None) -> BoltResponse | None:
        ref = uuid.uuid4().hex[:8]
        logger.error("unhandled error, ref %s", ref, exc_info=error)
        sorry = b.error(f"Sorry, something went wrong on our side and nothing was changed. "
                        f"If it keeps happening, mention reference {ref}.").as_message()
        if response is None:
            # Already acknowledged: the HTTP answer has gone, so the apology goes where the answer would have.
            if respond is not None:
                try:
                    respond(**sorry)
                except Exception:  # noqa: BLE001 - the apology is best effort; the log has the error
                    logger.warning("could not send the apology for ref %s", ref)
            return None
        return BoltResponse(status=200, body=json.dumps(sorry),
                            headers={"content-type": "application/json;charset=utf-8"})
