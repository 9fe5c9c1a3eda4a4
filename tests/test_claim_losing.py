"""A losing claim attempt, on a wish someone already holds, answers 409 and writes nothing."""

import pytest
from sqlalchemy import event, func, select

from core.database import autocommit_engine
from core.models import AuditLog
from core.outbox import Notification
from tests.factories import claim, make_wish
from wishes.models import Claim, Wish, WishStatus

WRITES = ("INSERT", "UPDATE", "DELETE", "SAVEPOINT")


def _counts(db) -> dict:
    return {
        model.__name__: db.session.scalar(select(func.count()).select_from(model))
        for model in (AuditLog, Claim, Notification)
    }


def _statements_during(db, action) -> list[str]:
    seen: list[str] = []

    def note(_conn, _cursor, statement, *_rest):
        seen.append(" ".join(statement.split()))

    # On PostgreSQL the status read goes through the process's autocommit pool.
    engines = [db.engine] + ([autocommit_engine(db.engine)] if db.engine.dialect.name == "postgresql" else [])
    for engine in engines:
        event.listen(engine, "before_cursor_execute", note)
    try:
        action()
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", note)
    return seen


def test_a_losing_attempt_answers_409_and_writes_nothing(client, db):
    wish = make_wish()
    claim(wish, contact="zhou@example.org")
    wish_id, public_id, version = wish.id, wish.public_id, wish.version
    before = _counts(db)
    db.session.close()
    answers = []

    def attempt():
        answers.append(
            client.post(f"/api/v1/wishes/{public_id}/claim", json={"name": "李女士", "contact": "13800002222"})
        )

    statements = _statements_during(db, attempt)
    response = answers[0]
    assert response.status_code == 409
    assert response.get_json() == {
        "error": {"code": "conflict", "message": "这个心愿已经被其他爱心人士认领了。", "fields": {}}
    }
    assert [s for s in statements if s.upper().startswith(WRITES) or "pg_notify" in s] == []
    assert _counts(db) == before
    assert db.session.get(Wish, wish_id).version == version


def test_a_losing_attempt_reads_the_wish_once(client, db):
    wish = make_wish()
    claim(wish)
    public_id = wish.public_id
    db.session.close()
    answers = []

    def attempt():
        answers.append(
            client.post(f"/api/v1/wishes/{public_id}/claim", json={"name": "李女士", "contact": "13800002222"})
        )

    statements = _statements_during(db, attempt)
    assert answers[0].status_code == 409
    selects = [s for s in statements if s.upper().startswith("SELECT")]
    assert len(selects) == 1
    assert "FROM wishes" in selects[0]


@pytest.mark.parametrize(
    "status, answer",
    [
        (WishStatus.DRAFT, 404),
        (WishStatus.SUBMITTED, 404),
        (WishStatus.REJECTED, 404),
        (WishStatus.WITHDRAWN, 404),
        (WishStatus.FULFILLED, 409),
        (WishStatus.CLOSED, 409),
    ],
)
def test_an_attempt_on_a_wish_not_open_is_refused_and_writes_nothing(client, db, status, answer):
    # A wish the public may not see is not found, whoever knows its id; a public one no longer open is taken.
    wish = make_wish(status)
    wish_id, public_id, version = wish.id, wish.public_id, wish.version
    db.session.commit()
    before = _counts(db)
    db.session.close()
    response = client.post(f"/api/v1/wishes/{public_id}/claim", json={"name": "李女士", "contact": "13800002222"})
    assert response.status_code == answer
    assert response.get_json()["error"]["code"] == ("not_found" if answer == 404 else "conflict")
    assert _counts(db) == before
    stored = db.session.get(Wish, wish_id)
    assert (stored.status, stored.version) == (status, version)


def _begins(statements: list[str]) -> list[str]:
    return [s for s in statements if s.upper().startswith("BEGIN")]


@pytest.mark.sqlite_only
def test_on_sqlite_a_losing_attempt_reads_without_the_write_lock(client, db):
    wish = make_wish()
    claim(wish)
    public_id = wish.public_id
    db.session.close()
    answers = []

    def attempt():
        answers.append(
            client.post(f"/api/v1/wishes/{public_id}/claim", json={"name": "李女士", "contact": "13800002222"})
        )

    statements = _statements_during(db, attempt)
    assert answers[0].status_code == 409
    assert _begins(statements) == ["BEGIN"]


@pytest.mark.sqlite_only
def test_on_sqlite_a_winning_attempt_writes_under_the_write_lock(client, db):
    public_id = make_wish().public_id
    db.session.close()
    answers = []

    def attempt():
        answers.append(
            client.post(f"/api/v1/wishes/{public_id}/claim", json={"name": "李女士", "contact": "13800002222"})
        )

    statements = _statements_during(db, attempt)
    assert answers[0].status_code == 201
    first_write = next(i for i, s in enumerate(statements) if s.upper().startswith(WRITES))
    assert _begins(statements[:first_write]) == ["BEGIN", "BEGIN IMMEDIATE"]
    # The wish the claim is written against is read inside the write transaction.
    assert statements.index("BEGIN IMMEDIATE") < next(
        i for i, s in enumerate(statements) if s.upper().startswith("SELECT") and "JOIN" in s.upper()
    )
