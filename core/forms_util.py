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
