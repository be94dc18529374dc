"""The offline shell's side of a file Rapport shares in Slack (a review's chart): the console Slack answers the
three steps of an external upload, saves the file in the current directory, and shows where it went."""

from __future__ import annotations

import itertools
import json
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.slack.text import escape_mrkdwn

UPLOAD_PATH = "/upload/"  # where files.getUploadURLExternal sends the bytes, on the console Slack itself


@dataclass
class _Upload:
    filename: str
    data: bytes | None = None


def safe_name(filename: str) -> str:
    """The uploader's file name, reduced to one harmless name in the directory (never a path elsewhere)."""
    name = re.sub(r"[^\w.\-]+", "-", Path(filename.replace("\\", "/")).name).strip(".-")
    return name or "rapport-file"


class SavedFiles:
    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory  # None: the current directory when the file is shared
        self._uploads: dict[str, _Upload] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def upload_url(self, params: dict[str, Any], base_url: str) -> dict[str, Any]:
        """files.getUploadURLExternal."""
        if not params.get("filename"):
            return {"ok": False, "error": "invalid_arguments"}
        with self._lock:
            file_id = f"F{next(self._ids):06d}"
            self._uploads[file_id] = _Upload(str(params["filename"]))
        return {"ok": True, "file_id": file_id, "upload_url": f"{base_url}{UPLOAD_PATH}{file_id}"}

    def receive(self, file_id: str, data: bytes) -> bool:
        """The POST of the bytes to the upload URL; False for a URL this console never gave."""
        with self._lock:
            upload = self._uploads.get(file_id)
            if upload is not None:
                upload.data = data
        return upload is not None

    def complete(self, params: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """files.completeUploadExternal: save each file, and a message for the shell saying where it is."""
        try:
            listed = json.loads(str(params.get("files") or "[]"))
        except ValueError:
            listed = []
        with self._lock:
            uploads = [(entry, self._uploads.pop(str(entry.get("id")), None)) for entry in listed]
        if not uploads or any(upload is None or upload.data is None for _, upload in uploads):
            return {"ok": False, "error": "file_upload_not_found"}, []
        directory = self.directory or Path.cwd()
        answer: list[dict[str, Any]] = []
        lines = [str(params["initial_comment"])] if params.get("initial_comment") else []
        for entry, upload in uploads:
            assert upload is not None and upload.data is not None  # checked above
            path = directory / safe_name(upload.filename)
            path.write_bytes(upload.data)
            title = str(entry.get("title") or upload.filename)
            lines.append(f"🖼 {escape_mrkdwn(title)} saved to {escape_mrkdwn(str(path.resolve()))}")
            answer.append({"id": entry.get("id"), "name": upload.filename, "title": title})
        shown = {"channel": params.get("channel_id"), "thread_ts": params.get("thread_ts"), "text": "\n".join(lines)}
        return {"ok": True, "files": answer}, [shown]
