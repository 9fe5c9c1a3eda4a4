"""Who commits: the request, job or command that called the services, once.

Services add and flush; they never commit. A view runs its service calls inside
`transaction()`, which commits when the block ends and rolls back on any error, so a
failed request leaves nothing half-written. Forms use `submit_form`, which also puts a
service's ValidationError on the form. The one place a request commits twice is
`commit_before_external_call`: the work so far is committed before a call to a service
outside the database (Stripe), so that what the call refers to is already on record
whatever becomes of the call.
"""

from collections.abc import Callable
from contextlib import contextmanager
from typing import TypeVar

from flask import flash

from core.errors import DomainError, ValidationError
from core.extensions import db
from core.forms_util import apply_errors

T = TypeVar("T")


@contextmanager
def transaction():
    """Commit when the block ends; roll back on any error and let it go on."""
    try:
        yield db.session
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise


def commit_before_external_call() -> None:
    """Commit the request's work before calling a service outside the database.

    A Checkout Session names its donation: the donation must be committed before Stripe
    hears of it, or a session could exist for a donation that was rolled back. If the call
    then fails, the donation stays pending and is never paid; the donor can try again.
    """
    db.session.commit()


def submit_form(form, action: Callable[[], T], renames: dict | None = None) -> tuple[bool, T | None]:
    """Run a form's service call as the request's one transaction.

    Returns (True, result) once committed; on the service's ValidationError rolls back,
    shows the messages on the form and returns (False, None). Any other error rolls back
    and goes on to the error handlers.
    """
    try:
        with transaction():
            result = action()
    except ValidationError as exc:
        apply_errors(form, exc, renames)
        return False, None
    return True, result


def run_action(action: Callable[[], object], success: str) -> bool:
    """A button's service call as the request's one transaction; flashes the outcome and says whether it was done.

    A refusal (any DomainError) is rolled back and flashed with the service's own words.
    """
    try:
        with transaction():
            action()
    except DomainError as exc:
        flash(str(exc.fields.get("reason") or exc.message), "error")
        return False
    flash(success, "success")
    return True
