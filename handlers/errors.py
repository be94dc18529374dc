"""The one error handler: the user gets a short apology with a reference; the log gets the traceback. The
database being away is not a bug: the user is told so, that nothing was saved, and to try again."""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

from slack_bolt import App, BoltResponse, Respond

from bot.database import is_outage
from bot.slack import blocks as b

UNAVAILABLE = "The database is unavailable right now, so nothing was saved. Please try again in a minute."


def apology(logger: logging.Logger, error: BaseException) -> dict[str, Any]:
    """Log the error under a fresh reference and return the message that names it to the user."""
    if is_outage(error):
        logger.warning("the database is unavailable: %s", type(error).__name__)
        return b.error(UNAVAILABLE).as_message()
    ref = uuid.uuid4().hex[:8]
    logger.error("unhandled error, ref %s", ref, exc_info=error)
    return b.error(f"Sorry, something went wrong on our side and nothing was changed. "
                   f"If it keeps happening, mention reference {ref}.").as_message()


def apologise(logger: logging.Logger, error: BaseException, respond: Respond | None) -> None:
    """For errors after the acknowledgement: the apology goes where the answer would have."""
    sorry = apology(logger, error)
    if respond is not None:
        try:
            respond(**sorry)
        except Exception:  # best effort: the log already has the error
            logger.warning("could not send the apology", exc_info=True)


def register(app: App) -> None:
    @app.error
    def on_error(error: Exception, logger: logging.Logger, response: BoltResponse | None,
                 respond: Respond | None) -> BoltResponse | None:
        if response is None:  # already acknowledged: the HTTP answer has gone
            apologise(logger, error, respond)
            return None
        return BoltResponse(status=200, body=json.dumps(apology(logger, error)),
                            headers={"content-type": "application/json;charset=utf-8"})
