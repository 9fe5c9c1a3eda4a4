"""Test helpers: clients that do not share one app context, and a picture of what a request wrote."""

import contextvars
from functools import partial
from pathlib import Path

import pytest
from flask import current_app, has_app_context
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.security import generate_password_hash

from core.extensions import db
from wishes.models import Claim, Wish


def snapshot() -> dict:
    db.session.commit()
    state: dict = {
        table.name: db.session.scalar(select(func.count()).select_from(table)) for table in db.metadata.sorted_tables
    }
    state["wish states"] = sorted(db.session.execute(select(Wish.id, Wish.status, Wish.version)).all())
    state["claim states"] = sorted(
        db.session.execute(
            select(Claim.id, Claim.status, Claim.delivery_note, Claim.delivery_photo, Claim.delivery_reported_at)
        ).all()
    )
    folder = Path(current_app.config["UPLOAD_FOLDER"])
    state["uploaded files"] = sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []
    db.session.commit()
    return state


class OwnContextClient(FlaskClient):
    """Each request in its own app context and database session, as on a real server.

    Unlike conftest's client, which shares the test's session, nothing a request leaves
    behind (its open transaction, its cached objects, `g`) reaches the test or the next
    request. The test's own transaction is committed first, so the request sees what the
    test wrote and no SQLite lock of the test's is held while a second app (CSRF, rate
    limits) or a server thread writes.
    """

    def open(self, *args, **kwargs):
        if has_app_context():
            db.session.commit()

        def request():
            with self.application.app_context():
                return super(OwnContextClient, self).open(*args, **kwargs)

        return contextvars.copy_context().run(request)


def client_for(app) -> OwnContextClient:
    return OwnContextClient(app, app.response_class, use_cookies=True)


@pytest.fixture(autouse=True)
def fast_passwords(monkeypatch):
    """Accounts made in a test get a one-round hash: these tests sign in hundreds of times."""
    monkeypatch.setattr("core.models.generate_password_hash", partial(generate_password_hash, method="pbkdf2:sha256:1"))
