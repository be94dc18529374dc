"""Names as stored and compared: one visible spelling per name, so two clients can never look alike.

`Acme\u200bCorp` (a zero-width space), `Ａｃｍｅ Corp` (full-width letters) and `Acme Corp` with a right-to-left
override are all `Acme Corp`: NFKC folds compatibility forms, and invisible characters — Unicode format
characters (category Cf: zero-width spaces and joiners, bidi embeddings, overrides and isolates, the BOM), controls,
lone surrogates and the other default-ignorable code points — are dropped. Whitespace of any kind becomes one space.
"""

from __future__ import annotations

import unicodedata

_DROPPED_CATEGORIES = frozenset({"Cf", "Cc", "Cs"})
# Default_Ignorable_Code_Point (Unicode's DerivedCoreProperties.txt) beyond category Cf: shown as nothing.
_IGNORABLE = (
    (0x034F, 0x034F), (0x115F, 0x1160), (0x17B4, 0x17B5), (0x180B, 0x180F), (0x3164, 0x3164), (0xFE00, 0xFE0F),
    (0xFFA0, 0xFFA0), (0xFFF0, 0xFFF8), (0x1BCA0, 0x1BCA3), (0x1D173, 0x1D17A), (0xE0000, 0xE0FFF),
)

# Drawn as a space though not whitespace to Unicode (the Hangul fillers are already default-ignorable)
_BLANK_GLYPHS = frozenset("\u2800")


def _invisible(char: str) -> bool:
    if unicodedata.category(char) in _DROPPED_CATEGORIES:
        return True
    point = ord(char)
    return any(low <= point <= high for low, high in _IGNORABLE)


def normalize_name(text: str) -> str:
    """The spelling a name is stored under: NFKC, invisible characters dropped, whitespace collapsed.

    Empty when nothing visible is left; callers refuse such a name."""
    if text.isascii():  # nearly every name: only controls to drop
        if text.isprintable():
            return " ".join(text.split())
        return " ".join("".join(c if c.isprintable() or c.isspace() else "" for c in text).split())
    folded = unicodedata.normalize("NFKC", text)
    kept = "".join(" " if c.isspace() or c in _BLANK_GLYPHS else "" if _invisible(c) else c for c in folded)
    name = " ".join(unicodedata.normalize("NFKC", kept).split())
    # marks with nothing to mark show as nothing: no name at all
    return name if any(unicodedata.category(c)[0] not in "MZ" for c in name) else ""


def name_key(name: str) -> str:
    """What lookups and uniqueness compare: the normalized name, casefolded."""
    key = normalize_name(name).casefold()
    return key if key.isascii() else unicodedata.normalize("NFKC", key)
