"""Rows written or read without the unit of work (core.rows), and audit rows sent at commit:
the objects and the rows stay the same as the ORM would have left them."""

import pytest
from sqlalchemy import event, func, select

from core import audit, rows
from core.extensions import db
from core.models import AuditLog
from tests.factories import make_wish
from wishes.models import Claim, ClaimStatus, Wish, WishStatus


def _count_statements():
    seen = []

    def count(_conn, _cursor, statement, *_args):
        seen.append(statement.split()[0].upper())

    event.listen(db.engine, "before_cursor_execute", count)
    return seen, lambda: event.remove(db.engine, "before_cursor_execute", count)


def test_an_inserted_object_knows_its_row_without_reading_it_back(db):
    wish = make_wish()
    db.session.commit()
    claim = Claim(
        wish_id=wish.id, name="李雷", contact="13800001234", mode="gift", source="api", due_at=wish.published_at
    )
    claim.manage_token_hash = "a" * 64
    seen, stop = _count_statements()
    try:
        rows.insert(claim)
        # Defaults computed in Python are known at once, the key came back with the INSERT.
        assert claim.id and len(claim.public_id) == 12 and claim.status == ClaimStatus.ACTIVE
        assert claim.claimed_at is not None and claim.anonymous is False and claim.thanks_photo_public is False
        assert claim in db.session and claim not in db.session.new and not db.session.dirty
    finally:
        stop()
    assert seen == ["INSERT"]
    db.session.commit()
    stored = db.session.get(Claim, claim.id)
    assert (stored.public_id, stored.name, stored.status) == (claim.public_id, "李雷", ClaimStatus.ACTIVE)


def test_an_inserted_row_goes_with_a_rollback(db):
    wish = make_wish()
    db.session.commit()
    claim = Claim(wish_id=wish.id, name="李雷", contact="13800001234", mode="gift", source="api")
    claim.due_at, claim.manage_token_hash = wish.published_at, "b" * 64
    rows.insert(claim)
    db.session.rollback()
    assert db.session.scalar(select(Claim.id)) is None


def test_a_model_with_insert_events_is_refused(db):
    # The wish search indexes a wish's words after its INSERT: only the unit of work runs that.
    before = db.session.scalar(select(func.count()).select_from(Wish))
    with pytest.raises(TypeError):
        rows.insert(Wish(title="书包"))
    assert db.session.scalar(select(func.count()).select_from(Wish)) == before


def test_an_adopted_row_reads_the_rest_when_asked_and_is_the_same_object_as_a_load(db):
    wish = make_wish(title="一个新书包")
    db.session.commit()
    known = {"id": wish.id, "status": WishStatus.PUBLISHED, "version": wish.version}
    db.session.expunge_all()
    seen, stop = _count_statements()
    try:
        adopted = rows.adopt(Wish, known)
        assert adopted is rows.adopt(Wish, known) and adopted.version == known["version"]
    finally:
        stop()
    assert seen == []
    assert adopted.title == "一个新书包" and adopted.child.alias
    assert db.session.get(Wish, known["id"]) is adopted and not db.session.dirty


def test_audit_rows_still_pending_at_commit_are_written_in_one_statement_in_their_order(db):
    wish = make_wish()
    db.session.commit()
    for n in range(3):
        audit.record("test.step", wish, "system", after={"n": n})
    seen, stop = _count_statements()
    try:
        db.session.commit()
    finally:
        stop()
    assert seen.count("INSERT") == 1
    steps = db.session.scalars(select(AuditLog).where(AuditLog.action == "test.step").order_by(AuditLog.id)).all()
    assert [row.after["n"] for row in steps] == [0, 1, 2]
    assert all(row.at is not None and row.object_id == wish.id for row in steps)


def test_audit_rows_are_seen_by_a_query_before_the_commit_and_dropped_by_a_rollback(db):
    wish = make_wish()
    db.session.commit()
    audit.record("test.seen", wish, "system")
    assert any(row.action == "test.seen" for row in audit.history(wish))
    audit.record("test.dropped", wish, "system")
    db.session.rollback()
    db.session.commit()
    assert not db.session.scalars(select(AuditLog).where(AuditLog.action.like("test.%"))).all()


def test_audit_rows_inside_a_savepoint_rolled_back_are_not_written(db):
    wish = make_wish()
    db.session.commit()
    audit.record("test.kept", wish, "system")
    with pytest.raises(RuntimeError), db.session.begin_nested():
        audit.record("test.undone", wish, "system")
        raise RuntimeError
    db.session.commit()
    actions = set(db.session.scalars(select(AuditLog.action).where(AuditLog.action.like("test.%"))))
    assert actions == {"test.kept"}
