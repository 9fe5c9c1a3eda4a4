"""The migrations build exactly the schema the models describe (`flask db check` stays clean)."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from core.extensions import db


def test_models_and_migrations_agree(app):
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, db.metadata)
    assert diff == []


def test_one_active_claim_per_wish_is_enforced_by_the_database(db):
    from sqlalchemy.exc import IntegrityError

    from core.clock import utcnow
    from tests.factories import claim, make_wish
    from wishes.models import Claim

    wish = make_wish()
    claim(wish)
    db.session.add(
        Claim(
            wish_id=wish.id,
            name="x",
            contact="13800000000",
            mode="gift",
            source="web",
            status="active",
            due_at=utcnow(),
            manage_token_hash="f" * 64,
        )
    )
    try:
        db.session.flush()
        raised = False
    except IntegrityError:
        raised = True
    db.session.rollback()
    assert raised
