"""Audit rows: who did what to which object, with the state before and after."""

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
