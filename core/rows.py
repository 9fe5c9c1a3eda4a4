"""Rows written or read without the ORM's unit of work, kept in the session as if loaded.

Performance plumbing, nothing more. Why: a claim is the busiest write of the site (an event
or a viral campaign sends hundreds of attempts a second), and on that path the ORM's own
bookkeeping cost more CPU than the database did: loading a wish with its child and fund
to read four columns, and flushing a new claim through the unit of work. Here a row goes
to or comes from the database in one plain statement, and the object stands in the session
exactly as a loaded one would: same identity, attributes in step with the row, nothing
pending. Any column not given is loaded by the ORM the first time it is read.

What stays true: the statement runs on the session's own connection and transaction, so
a rollback takes the row back with everything else; mapper events for INSERT (such as
`after_insert`) do not fire, so `insert` is only for models that have none.
"""

from functools import cache

from sqlalchemy import insert as sql_insert
from sqlalchemy import inspect
from sqlalchemy.orm import make_transient_to_detached

from core.extensions import db


def adopt(model, values: dict):
    """The session's object for the row of `model` whose columns (primary key included) are `values`.

    A row already in the session's identity map is returned as it is.
    """
    mapper = inspect(model)
    key = mapper.identity_key_from_primary_key([values[c.key] for c in mapper.primary_key])
    existing = db.session.identity_map.get(key)
    if existing is not None:
        return existing
    obj = model(**values)
    make_transient_to_detached(obj)
    db.session.add(obj)
    return obj


def insert(obj):
    """INSERT a new object's row in one statement and return it as a loaded object of the session.

    Column defaults given in Python are computed here, so the object knows them without
    reading the row back; the primary key and any server default come back with RETURNING.
    """
    mapper = inspect(type(obj))
    if mapper.dispatch.after_insert or mapper.dispatch.before_insert:
        raise TypeError(f"{mapper.class_.__name__} has INSERT events; add it to the session instead")
    state = inspect(obj)
    values, returned = {}, []
    for attr in mapper.column_attrs:
        column = attr.columns[0]
        if attr.key in state.dict:
            values[attr.key] = state.dict[attr.key]
        elif column.default is not None and column.default.is_scalar:
            values[attr.key] = column.default.arg
        elif column.default is not None and column.default.is_callable:
            values[attr.key] = column.default.arg(None)
        elif column.server_default is None and not column.primary_key and column.nullable:
            values[attr.key] = None
        else:
            returned.append(attr)
    statement = _insert(mapper.local_table, tuple(attr.columns[0].name for attr in returned))
    by_column = {mapper.get_property(key).columns[0].name: value for key, value in values.items()}
    result = db.session.connection().execute(statement, by_column)
    if returned:
        row = result.one()
        values.update({attr.key: row[i] for i, attr in enumerate(returned)})
    for key, value in values.items():
        setattr(obj, key, value)
    make_transient_to_detached(obj)
    db.session.add(obj)
    return obj


@cache
def _insert(table, returning: tuple[str, ...]):
    """One INSERT per table and RETURNING list, built once (its compiled form is kept with it)."""
    statement = sql_insert(table)
    return statement.returning(*(table.c[name] for name in returning)) if returning else statement
