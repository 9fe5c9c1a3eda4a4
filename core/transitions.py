"""Status moves along a table of allowed steps, decided by the database, never by a read-then-write."""

from sqlalchemy.orm.attributes import set_committed_value

from core import audit, writebehind
from core.audit import Actor
from core.errors import Conflict, InvalidTransition
from core.extensions import db


def move(
    obj,
    to,
    transitions: dict,
    actor: Actor,
    action: str,
    *,
    note=None,
    guard=(),
    refused=None,
    audit_after=None,
    **values,
):
    """Move `obj` one step with a conditional UPDATE, only if nobody moved it first.

    The row must still be in the status (and, where the model has one, the version) this
    copy was loaded with, and match `guard`; otherwise Conflict. A step outside
    `transitions` raises `refused` (InvalidTransition by default). Leaves an audit row, whose
    `after` also carries `audit_after` when given.
    Inside a write-behind batch (core.writebehind) an unguarded UPDATE is held and sent with
    the batch, where the same conditions decide it.
    """
    model = type(obj)
    current = type(to)(obj.status)
    if to not in transitions[current]:
        raise refused or InvalidTransition()
    changes = {"status": to.value, **values}
    where = {"id": obj.id, "status": current.value}
    if "version" in model.__mapper__.columns:
        changes["version"] = obj.version + 1
        where["version"] = obj.version
    held = not guard and writebehind.hold_update(model.__table__, where, changes)
    if not held:
        # Pending objects go first, as the ORM's autoflush would send them before its own UPDATE.
        db.session.flush()
        statement, params = writebehind.conditional_update(model.__table__, where, changes)
        if guard:
            statement = statement.where(*guard)
        result = db.session.execute(statement, params)
        if result.rowcount != 1:
            db.session.expire(obj)
            raise Conflict()
    # The row now holds (held in a batch: will hold) exactly `changes`: keep the loaded object in step without reading it back.
    for key, value in changes.items():
        set_committed_value(obj, key, value)
    stale = [rel.key for rel in model.__mapper__.relationships if {c.key for c in rel.local_columns} & changes.keys()]
    if stale:
        db.session.expire(obj, stale)
    audit.record(
        action,
        obj,
        actor,
        before={"status": current.value},
        after={"status": to.value, **(audit_after or {})},
        note=note,
    )
    return obj
