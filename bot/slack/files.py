"""Sharing a file in a channel: Slack's external upload, in its three steps. The bytes go first
(files.getUploadURLExternal, then a POST of the bytes to the URL it returns): Slack then holds the file, shared
nowhere yet, and a missing permission (`files:write`) or a refused upload is known before anything is posted. The
file is shared (files.completeUploadExternal) once the message it belongs to is there.
"""

from __future__ import annotations

import urllib.request
from dataclasses import dataclass
from urllib.error import HTTPError

from slack_sdk import WebClient
from slack_sdk.errors import SlackRequestError


@dataclass(frozen=True)
class Upload:
    """A file Slack holds, not shared anywhere yet."""

    file_id: str
    filename: str
    title: str


def upload_file(client: WebClient, *, filename: str, title: str, data: bytes) -> Upload:
    """Steps 1 and 2: hand Slack the bytes. Slack refusing the first step raises SlackApiError (missing_scope
    without files:write); refusing the bytes raises SlackRequestError (urllib's HTTPError is turned into it, so
    callers catching SlackClientError see it); a connection that fails raises OSError."""
    reply = client.files_getUploadURLExternal(filename=filename, length=len(data), alt_txt=title)
    file_id, url = str(reply.get("file_id") or ""), str(reply.get("upload_url") or "")
    if not file_id or not url.startswith(("https://", "http://")):
        raise SlackRequestError(f"Slack gave no upload URL for {filename}")
    request = urllib.request.Request(url, data=data, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=client.timeout, context=client.ssl) as answer:
            status = answer.status
    except HTTPError as exc:
        raise SlackRequestError(f"Slack refused the upload of {filename}: HTTP {exc.code}") from exc
    if status != 200:
        raise SlackRequestError(f"Slack refused the upload of {filename}: HTTP {status}")
    return Upload(file_id, filename, title)


def share_upload(client: WebClient, upload: Upload, *, channel: str, initial_comment: str | None = None,
                 thread_ts: str | None = None) -> None:
    """Step 3: share a file already uploaded in `channel` (in a thread when `thread_ts`)."""
    client.files_completeUploadExternal(files=[{"id": upload.file_id, "title": upload.title}], channel_id=channel,
                                        initial_comment=initial_comment, thread_ts=thread_ts)


def upload_png(client: WebClient, *, channel: str, filename: str, title: str, png: bytes,
               initial_comment: str | None = None, thread_ts: str | None = None) -> None:
    """All three steps at once: share `png` in `channel` (in a thread when `thread_ts`), titled `title` (also its
    alt text)."""
    share_upload(client, upload_file(client, filename=filename, title=title, data=png), channel=channel,
                 initial_comment=initial_comment, thread_ts=thread_ts)
