"""Text as people type it, made safe to compare and to show.

Invisible format characters (zero-width spaces and joiners, bidirectional overrides and
isolates, the byte-order mark) change nothing a reader sees but can hide a name from a
search or turn a public name around on the page; they are removed before text is
compared or stored for display.
"""

import re
import unicodedata

#: Named explicitly as well as by category, so the rule reads the same in every Python.
_BIDI_AND_ZERO_WIDTH = re.compile("[\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")


def strip_format(text: str) -> str:
    """The text without Unicode format characters (category Cf)."""
    text = _BIDI_AND_ZERO_WIDTH.sub("", text or "")
    return "".join(ch for ch in text if unicodedata.category(ch) != "Cf")


def clean_display_name(value: str | None) -> str | None:
    """A public name as it will be shown: no format characters, runs of spaces made one."""
    if value is None:
        return None
    if not isinstance(value, str):
        return value
    return " ".join(strip_format(value).split())
