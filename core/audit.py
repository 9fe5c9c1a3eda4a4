"""Audit rows: who did what to which object, with the state before and after."""

from sqlalchemy import event, insert, inspect
from sqlalchemy.orm import Session

from core.clock import utcnow
from core.extensions import db
from core.models import AuditLog, User

#: An actor is a signed-in user or a label for someone without an account.
Actor = User | str


def record(action: str, obj, actor: Actor, *, before=None, after=None, note=None) -> AuditLog:
    row = AuditLog(
        actor_id=actor.id if isinstance(actor, User) else None,
        actor_label=f"user:{actor.id}" if isinstance(actor, User) else actor,
        action=action,
        object_type=obj.__tablename__,
        object_id=obj.id,
        before=before,
        after=after,
        note=note,
    )
    db.session.add(row)
    return row


def history(obj) -> list[AuditLog]:
    return list(
        db.session.scalars(
            db.select(AuditLog)
            .where(AuditLog.object_type == obj.__tablename__, AuditLog.object_id == obj.id)
            .order_by(AuditLog.at, AuditLog.id)
        )
    )


# --- performance plumbing: the rows a commit finds still pending -------------------------------
#
# Why: most requests record one or two audit rows and then commit, and the ORM's unit of work
# spent more CPU on flushing those rows than the rest of a claim did. What a commit finds
# still pending goes in one plain INSERT instead; the rows are the same. Rows a query or an
# explicit flush sends first are written by the ORM as before.

_INSERT = insert(AuditLog.__table__)
_COLUMNS = tuple(c.key for c in AuditLog.__table__.columns if c.key != "id")


@event.listens_for(Session, "before_commit")
def _write_pending_rows(session):
    if session.in_nested_transaction():
        return
    rows = sorted((obj for obj in session.new if type(obj) is AuditLog), key=lambda row: inspect(row).insert_order)
    if not rows:
        return
    now = utcnow()
    for row in rows:
        if row.at is None:
            row.at = now
    session.connection().execute(_INSERT, [{key: getattr(row, key) for key in _COLUMNS} for row in rows])
    for row in rows:
        session.expunge(row)
