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


_HAN_CHAR = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def masked_name(name: str | None) -> str:
    """A person's name as the public sees it when they chose no public name: the surname and
    stars (李**, 欧阳*), or an initial for a Latin name (Z***). Nobody's full name by default."""
    name = " ".join(strip_format(name or "").split())
    if not name:
        return ""
    if _HAN_CHAR.match(name):
        # Two-character surnames are the common compound ones; the rest is masked.
        surname = name[:2] if name[:2] in COMPOUND_SURNAMES and len(name) > 2 else name[:1]
        return surname + "*" * max(1, min(2, len(name) - len(surname)))
    return name[0].upper() + "***"


#: The compound surnames common enough to keep whole (欧阳娜娜 → 欧阳*).
COMPOUND_SURNAMES = frozenset(
    [
        "欧阳",
        "司马",
        "上官",
        "诸葛",
        "东方",
        "皇甫",
        "尉迟",
        "公孙",
        "慕容",
        "长孙",
        "宇文",
        "司徒",
        "夏侯",
        "轩辕",
        "令狐",
        "端木",
        "西门",
        "南宫",
        "独孤",
        "澹台",
    ]
)
