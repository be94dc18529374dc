"""Sharing a file in a channel: Slack's external upload (files.getUploadURLExternal, a POST of the bytes to the
URL it returns, files.completeUploadExternal), which slack_sdk's files_upload_v2 runs in that order."""

from __future__ import annotations

from urllib.error import HTTPError

from slack_sdk import WebClient
from slack_sdk.errors import SlackRequestError


def upload_png(client: WebClient, *, channel: str, filename: str, title: str, png: bytes,
               initial_comment: str | None = None, thread_ts: str | None = None) -> None:
    """Share `png` in `channel` (in a thread when `thread_ts`), titled `title` (also its alt text).

    Slack refusing a Web API step raises SlackApiError; refusing the bytes raises SlackRequestError (slack_sdk
    lets urllib's HTTPError out of that step, which callers catching SlackClientError would miss); a connection
    that fails raises OSError, as for every other call."""
    try:
        client.files_upload_v2(channel=channel, filename=filename, title=title, file=png, alt_txt=title,
                               initial_comment=initial_comment, thread_ts=thread_ts)
    except HTTPError as exc:
        raise SlackRequestError(f"Slack refused the upload of {filename}: HTTP {exc.code}") from exc
