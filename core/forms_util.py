"""Showing a service's ValidationError on the form that caused it."""

from core.errors import ValidationError


def apply_errors(form, exc: ValidationError, renames: dict | None = None) -> None:
    renames = renames or {}
    placed = False
    for name, message in exc.fields.items():
        field = getattr(form, renames.get(name, name), None)
        if field is not None and hasattr(field, "errors"):
            field.errors = [*field.errors, message] if isinstance(field.errors, list) else [message]
            placed = True
    if not placed:
        form.form_errors.append(str(exc.message))


def commit_form(form, action, renames: dict | None = None):
    """Run a form's service call as the request's one transaction.

    Returns (True, result) once committed; on the service's ValidationError rolls back,
    shows the messages on the form and returns (False, None).
    """
    from core.extensions import db

    try:
        result = action()
        db.session.commit()
    except ValidationError as exc:
        db.session.rollback()
        apply_errors(form, exc, renames)
        return False, None
    return True, result
