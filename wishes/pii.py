"""Spot personal data in a wish's text before it is published."""

import re
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

PHONE = re.compile(r"(?<!\d)(?:\+?86[- ]?)?1[3-9]\d[- ]?\d{4}[- ]?\d{4}(?!\d)|(?<!\d)0\d{2,3}-\d{7,8}(?!\d)")
ID_CARD = re.compile(
    r"(?<![\dA-Za-z])\d{6}(?:19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dXx](?![\dA-Za-z])"
)
SCHOOL = re.compile(r"[\u4e00-\u9fa5A-Za-z0-9]{2,12}(?:小学|中学|学校|幼儿园|初中|高中|学院|[Ss]chool|[Aa]cademy)")
ADDRESS = re.compile(
    r"[\u4e00-\u9fa5A-Za-z0-9]{1,12}(?:路|街|巷|弄|大道|胡同)\s*\d+\s*(?:号|弄|栋|幢|单元|室)"
    r"|\d+\s*(?:号楼|栋|幢|单元|室)"
    r"|\d+\s+[A-Z][a-z]+\s+(?:Street|St|Road|Rd|Lane|Avenue|Ave)\b"
)


@dataclass(frozen=True)
class Warning:
    kind: str
    label: str
    found: str


KIND_LABELS = {
    "name": _l("Child's name"),
    "guardian": _l("Guardian's name"),
    "school": _l("School"),
    "address": _l("Address"),
    "phone": _l("Phone number"),
    "id_card": _l("ID card number"),
}


def _name_variants(name: str) -> set[str]:
    name = (name or "").strip()
    if not name:
        return set()
    variants = {name}
    if re.fullmatch(r"[\u4e00-\u9fa5·]+", name) and len(name) >= 3:
        variants.add(name[1:])  # the given name without the surname
    for part in re.split(r"[\s·.\-]+", name):
        if len(part) >= 3 and part.isascii():
            variants.add(part)
    return variants


def _found_in(text: str, needle: str) -> bool:
    if needle.isascii():
        return re.search(rf"(?<![A-Za-z]){re.escape(needle)}(?![A-Za-z])", text, re.IGNORECASE) is not None
    return needle in text


def scan(text: str, child=None) -> list[Warning]:
    """Everything in the text that looks like personal data, most specific first."""
    found: list[Warning] = []
    seen: set[tuple[str, str]] = set()

    def add(kind: str, value: str) -> None:
        if (kind, value) not in seen:
            seen.add((kind, value))
            found.append(Warning(kind, str(KIND_LABELS[kind]), value))

    if child is not None:
        for variant in sorted(_name_variants(child.legal_name), key=len, reverse=True):
            if _found_in(text, variant):
                add("name", variant)
        for variant in sorted(_name_variants(child.guardian_name), key=len, reverse=True):
            if _found_in(text, variant):
                add("guardian", variant)
        if child.school and child.school in text:
            add("school", child.school)
        if child.address and child.address in text:
            add("address", child.address)
        phone_digits = re.sub(r"\D", "", child.guardian_phone or "")
        if len(phone_digits) >= 7 and phone_digits in re.sub(r"\D", "", text):
            add("phone", child.guardian_phone)
    for match in ID_CARD.finditer(text):
        add("id_card", match.group(0))
    for match in PHONE.finditer(text):
        if not any(w.kind == "id_card" and match.group(0) in w.found for w in found):
            add("phone", match.group(0))
    for match in SCHOOL.finditer(text):
        add("school", match.group(0))
    for match in ADDRESS.finditer(text):
        add("address", match.group(0))
    return found
