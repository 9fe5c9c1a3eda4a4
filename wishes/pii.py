"""Personal data in a wish's public texts and a child's public fields (core.pii does the finding)."""

from flask_babel import gettext as _
from sqlalchemy import select

from core.extensions import db
from core.pii import FileValues, Warning, kinds, scan
from wishes.models import Child

__all__ = [
    "FileValues",
    "Warning",
    "child_values",
    "district_values",
    "kinds",
    "public_field_refusal",
    "public_field_warnings",
    "scan_text",
    "wish_warnings",
]


def child_values(child) -> FileValues:
    """The private values of a child's file (a Child or the dict of a form being saved)."""
    get = child.get if isinstance(child, dict) else lambda key: getattr(child, key, None)
    return FileValues(
        names=tuple(filter(None, [get("legal_name")])),
        guardian_names=tuple(filter(None, [get("guardian_name")])),
        schools=tuple(filter(None, [get("school")])),
        addresses=tuple(filter(None, [get("address")])),
        phones=tuple(filter(None, [get("guardian_phone")])),
    )


def scan_text(text: str, child=None) -> list[Warning]:
    """Personal data in free text about a child: a title, a story, a reason."""
    return scan(text, child_values(child) if child is not None else None)


def public_field_refusal(value: str, child=None) -> str | None:
    """Why a public field is refused, or None: it carries personal data and no one vets it.

    The child's file (a Child or a form's dict) adds its own names and numbers to look for;
    a place on the managed list has no child, only the general patterns."""
    found = scan(value, child_values(child) if child is not None else None, given_names=False)
    if not found:
        return None
    labels = "、".join(dict.fromkeys(w.label for w in found))
    return _("This is shown to the public and looks like personal data (%(kinds)s).", kinds=labels)


def public_field_warnings(value: str, child) -> list[Warning]:
    """Personal data in one of a child's public fields (alias, street, district).

    Only whole names count here: a given name inside a nickname (小明 in 小明星) or a
    guardian's given name that is also a street's (建国路) is not a leak.
    """
    return scan(value, child_values(child), given_names=False)


def wish_warnings(wish) -> list[Warning]:
    """Everything personal in what the public will see of the wish: its texts and the child's public fields."""
    child = wish.child
    found = scan_text(f"{wish.title}\n{wish.story}", child)
    for value in (child.alias, child.district, child.street):
        for warning in public_field_warnings(value or "", child):
            if warning not in found:
                found.append(warning)
    return found


def district_values(district: str) -> FileValues:
    """The private values of every child's file in the district: what a text about the district's
    children (a service activity's note) must not carry."""
    rows = db.session.execute(
        select(Child.legal_name, Child.guardian_name, Child.school, Child.address, Child.guardian_phone).where(
            Child.district == district
        )
    ).all()
    return FileValues(
        names=tuple(filter(None, (r.legal_name for r in rows))),
        guardian_names=tuple(filter(None, (r.guardian_name for r in rows))),
        schools=tuple(filter(None, (r.school for r in rows))),
        addresses=tuple(filter(None, (r.address for r in rows))),
        phones=tuple(filter(None, (r.guardian_phone for r in rows))),
    )
