"""MkDocs hook (mkdocs.yml `hooks:`): each reference page gets its generated parts from the code at build time, and
whatever the code holds that the page does not document (or the reverse) is a warning, so `mkdocs build --strict`
fails on it. The checks themselves are docs/gen/reference.py's, which tests/test_docs.py runs too."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # MkDocs loads a hook by its path; the generator is imported as the tests import it
    sys.path.insert(0, str(ROOT))

from docs.gen.reference import expand  # noqa: E402

log = logging.getLogger("mkdocs.hooks.rapport")


def on_page_markdown(markdown: str, page: Any, **_kwargs: Any) -> str:
    expanded, problems = expand(page.file.src_uri, markdown)
    for problem in problems:
        log.warning("%s: %s", page.file.src_uri, problem)
    return expanded
