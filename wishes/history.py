"""A wish's and its claims' audit trail in people's words: "submitted for vetting by 王老师",
never the codes the audit log keeps (`wish.submitted`, `draft → submitted`)."""

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

#: What each recorded action means to a reader; %(who)s is the person who did it.
PHRASES = {
    "wish.drafted": _l("Drafted by %(who)s"),
    "wish.edited": _l("Edited by %(who)s"),
    "wish.submitted": _l("Submitted for vetting by %(who)s"),
    "wish.approved": _l("Approved and published by %(who)s"),
    "wish.rejected": _l("Returned to the caseworker by %(who)s"),
    "wish.reopened": _l("Made a draft again by %(who)s"),
    "wish.withdrawn": _l("Withdrawn by %(who)s"),
    "wish.closed": _l("Closed by %(who)s"),
    "wish.claimed": _l("Claimed by %(who)s"),
    "wish.released": _l("Open to donors again"),
    "wish.fulfilled": _l("Came true, confirmed by %(who)s"),
    "claim.created": _l("Claim made by %(who)s"),
    "claim.attached": _l("Kept in the donor's account"),
    "claim.awaiting_payment": _l("Waiting for the donor's online payment"),
    "claim.paid": _l("Paid online"),
    "claim.delivery_reported": _l("Delivery reported by %(who)s"),
    "claim.cancelled": _l("Claim cancelled by %(who)s"),
    "claim.expired": _l("Claim expired: not delivered by its due date"),
    "claim.fulfilled": _l("Gift received, confirmed by %(who)s"),
}


def who(row) -> str:
    if row.actor is not None:
        return row.actor.display_name
    label = row.actor_label or ""
    if label.startswith("donor"):
        return _("the donor")
    return _("the system")


def describe(row) -> str:
    """One line of the trail: what happened, by whom, and the note given with it."""
    phrase = PHRASES.get(row.action)
    what = str(phrase) % {"who": who(row)} if phrase else _("Changed by %(who)s", who=who(row))
    if row.note:
        return _("%(what)s: “%(note)s”", what=what, note=row.note)
    return what
