"""One detector for personal data in any text that can reach the public.

Text is normalised before it is searched, and a child's file values are normalised the
same way, so that a phone number typed in full-width digits (１３９…) or Chinese numerals
(一三九…), or a name with a zero-width character or spaces inside, is found like the
plain one:

1. NFKC: full-width digits and letters become ASCII.
2. Unicode format characters (zero-width, bidi overrides) are removed.
3. Chinese numerals in a run of digits become digits (幺 is 1), as do the numbers of
   an address (幸福路八号三单元).
4. Spaces and separators inside a number, or between Chinese characters, are removed.

Then it looks for the file's own values (passed in by the caller: core knows no child),
mobile and landline numbers, ID-card numbers, street addresses and schools.
tests/test_pii_corpus.py measures precision and recall over a written corpus.
"""

import re
import unicodedata
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from core.text import strip_format

KIND_LABELS = {
    "name": _l("Child's name"),
    "guardian": _l("Guardian's name"),
    "school": _l("School"),
    "address": _l("Address"),
    "phone": _l("Phone number"),
    "id_card": _l("ID card number"),
}


@dataclass(frozen=True)
class Warning:
    kind: str
    label: str
    found: str


# --- normalising ------------------------------------------------------------------------------

_CN_DIGITS = {
    "零": "0", "〇": "0", "一": "1", "幺": "1", "壹": "1", "二": "2", "贰": "2", "貳": "2", "两": "2",
    "三": "3", "叁": "3", "參": "3", "四": "4", "肆": "4", "五": "5", "伍": "5", "六": "6", "陆": "6",
    "陸": "6", "七": "7", "柒": "7", "八": "8", "捌": "8", "九": "9", "玖": "9",
}  # fmt: skip
_DIGIT = "0-9" + "".join(k for k in _CN_DIGITS if k != "两")
#: A run of digits, ASCII or Chinese, perhaps with spaces or dashes between them.
_DIGIT_RUN = re.compile(rf"[{_DIGIT}](?:[\s\-.]*[{_DIGIT}])*")
#: A Chinese number between the parts of an address: 幸福路八号, 三单元, 张家村二十组.
_ADDRESS_NUMBER = re.compile(
    r"(?<=[路街巷弄号栋幢元室村区])([零〇一二两三四五六七八九十百壹贰叁肆伍陆柒捌玖]+)(?=[号栋幢单室组弄楼])"
)
_CJK = "\u3400-\u4dbf\u4e00-\u9fff"
_INSIDE_NUMBER = re.compile(r"(?<=\d)[\s\-.·_/()（）]+(?=\d)")
_INSIDE_WORDS = re.compile(rf"(?<=[{_CJK}])[\s·•\-_*]+(?=[{_CJK}])")


def _cn_number(text: str) -> str:
    """二十三 → 23, 一百零一 → 101, 五零一 → 501."""
    if "十" not in text and "百" not in text:
        return "".join(_CN_DIGITS.get(ch, ch) for ch in text)
    total, current = 0, 0
    for ch in text:
        if ch == "百":
            total += (current or 1) * 100
            current = 0
        elif ch == "十":
            total += (current or 1) * 10
            current = 0
        else:
            current = int(_CN_DIGITS.get(ch, "0"))
    return str(total + current)


def _fold_run(match: re.Match) -> str:
    run = match.group(0)
    digits = [ch for ch in run if ch.isdigit() or ch in _CN_DIGITS]
    mixed = any(ch.isascii() for ch in digits) and any(not ch.isascii() for ch in digits)
    # A lone 一 or 三 is a word; five digits or more, or digits mixed with numerals, are a number.
    if len(digits) >= 5 or mixed:
        return "".join(_CN_DIGITS.get(ch, ch) for ch in run)
    return run


def normalise(text: str) -> str:
    """The text as the detector reads it (see the module docstring)."""
    text = strip_format(unicodedata.normalize("NFKC", text or ""))
    text = _DIGIT_RUN.sub(_fold_run, text)
    text = _ADDRESS_NUMBER.sub(lambda m: _cn_number(m.group(1)), text)
    text = _INSIDE_NUMBER.sub("", text)
    return _INSIDE_WORDS.sub("", text)


# --- patterns ---------------------------------------------------------------------------------

MOBILE = re.compile(r"(?<![\d])(?:\+?86)?1[3-9]\d{9}(?!\d)")
LANDLINE = re.compile(r"(?<![\d+])0[1-9]\d{1,2}\d{7,8}(?!\d)")
ID_CARD = re.compile(
    r"(?<![\dA-Za-z])\d{6}(?:19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dXx](?![\dA-Za-z])"
)
_SCHOOL_CN = re.compile(rf"([{_CJK}A-Za-z0-9]{{2,12}}?)(小学|中学|学校|幼儿园|初级中学|高级中学|初中|高中)(?!生)")
#: What comes before 小学 in ordinary speech (上小学, 村里的小学, 农村小学) rather than in a name.
_SCHOOL_GENERIC_ENDINGS = (
    "上", "读", "念", "在", "进", "去", "到", "的", "是", "了", "个", "所", "入", "考", "升", "和", "与",
    "及", "年", "从", "回", "离", "好", "新", "农村", "乡村", "村里", "镇上", "当地", "附近", "县城",
    "公办", "民办", "寄宿", "普通", "重点", "这所", "那所", "一所",
)  # fmt: skip
_SCHOOL_EN = re.compile(
    r"\b(?:[A-Z0-9][A-Za-z0-9.'\-]*\s+){1,5}(?:Primary\s+|Middle\s+|High\s+)?(?:School|Academy|Kindergarten)\b"
)
_ADDRESS = re.compile(
    rf"[{_CJK}A-Za-z0-9]{{1,12}}?(?:路|街|巷|弄|大道|胡同)\s*\d+\s*(?:号楼|号|弄|栋|幢|单元|室)"
    r"|(?<!第)(?<!\d)\d+\s*(?:号楼|栋|幢|单元|室)(?!友|内|外)"
    rf"|[{_CJK}]{{1,8}}?村\s*\d+\s*(?:组|队|社|号)"
    rf"|(?:家住|住在|家在)[{_CJK}]{{2,10}}?(?:小区|新村|家园|花园|公寓|大院)"
    r"|\b\d+[A-Za-z]?\s+(?:[A-Z][a-z]+\s+){1,3}(?:Street|St|Road|Rd|Lane|Ln|Avenue|Ave|Alley)\b"
    r"|\b(?:Room|Rm|Apt|Apartment|Flat|Bldg|Building)\.?\s*#?\d+"
)


# --- scanning ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class FileValues:
    """The private values of one file that must not appear in its public texts."""

    names: tuple[str, ...] = ()
    guardian_names: tuple[str, ...] = ()
    schools: tuple[str, ...] = ()
    addresses: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()


def name_variants(name: str | None, *, given_name: bool = True) -> set[str]:
    """A name, and (with given_name) the given name without the surname."""
    name = normalise(name or "").strip()
    if not name:
        return set()
    variants = {name}
    if given_name and re.fullmatch(rf"[{_CJK}·]+", name) and len(name) >= 3:
        variants.add(name[1:])
    if given_name:
        for part in re.split(r"[\s·.\-]+", name):
            if len(part) >= 3 and part.isascii():
                variants.add(part)
    return variants


def _compact(text: str) -> str:
    return re.sub(r"[\W_]+", "", text).lower()


def _found_in(text: str, needle: str) -> bool:
    if needle.isascii():
        if re.search(rf"(?<![A-Za-z]){re.escape(needle)}(?![A-Za-z])", text, re.IGNORECASE):
            return True
        # "L i   X i a o m i n g": only for long needles, where a chance match is unlikely.
        return len(_compact(needle)) >= 6 and _compact(needle) in _compact(text)
    return needle in text


def scan(text: str, values: FileValues | None = None, *, given_names: bool = True) -> list[Warning]:
    """Everything in the text that looks like personal data, most specific first."""
    text = normalise(text)
    found: list[Warning] = []
    seen: set[tuple[str, str]] = set()

    def add(kind: str, value: str) -> None:
        if (kind, value) not in seen:
            seen.add((kind, value))
            found.append(Warning(kind, str(KIND_LABELS[kind]), value))

    if values is not None:
        for kind, names in (("name", values.names), ("guardian", values.guardian_names)):
            variants = set().union(*(name_variants(n, given_name=given_names) for n in names))
            for variant in sorted(variants, key=len, reverse=True):
                if _found_in(text, variant):
                    add(kind, variant)
        for kind, items in (("school", values.schools), ("address", values.addresses)):
            for item in filter(None, (normalise(v).strip() for v in items)):
                if _found_in(text, item):
                    add(kind, item)
        digits_only = re.sub(r"\D", " ", text)
        for phone in values.phones:
            digits = re.sub(r"\D", "", normalise(phone))
            if len(digits) >= 7 and any(digits in run for run in digits_only.split()):
                add("phone", digits)
    for match in ID_CARD.finditer(text):
        add("id_card", match.group(0))
    for pattern in (MOBILE, LANDLINE):
        for match in pattern.finditer(text):
            if not any(w.kind == "id_card" and match.group(0) in w.found for w in found):
                add("phone", match.group(0))
    for match in _SCHOOL_CN.finditer(text):
        prefix = match.group(1)
        if not prefix.endswith(_SCHOOL_GENERIC_ENDINGS):
            add("school", match.group(0))
    for match in _SCHOOL_EN.finditer(text):
        add("school", match.group(0))
    for match in _ADDRESS.finditer(text):
        add("address", match.group(0).strip())
    return found


def kinds(warnings: list[Warning]) -> list[str]:
    """The kinds found, without the values: what an audit row may keep."""
    return sorted({w.kind for w in warnings})


#: What a public name may not carry: a name is shown on boards, walls and certificates.
_PUBLIC_NAME_KINDS = ("phone", "id_card", "address")


def public_name_error(value: str | None):
    """A message when a name shown to the public carries a phone, an ID number or an address."""
    found = [w for w in scan(value or "") if w.kind in _PUBLIC_NAME_KINDS]
    if not found:
        return None
    return _l(
        "This name is shown to the public and looks like personal data (%(kinds)s).",
        kinds="、".join(dict.fromkeys(str(w.label) for w in found)),
    )
