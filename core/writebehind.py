"""Write-behind: a batch's writes held and sent together. Performance plumbing, nothing more.

Why: the payment applier turns a giving day's backlog of Stripe events into paid
donations, and one event costs a handful of small writes (the donation's conditional
UPDATE, a receipt number, a journal and its entries). Sent one by one, the round trips
are the cost. Inside `collecting()`, the services that know how (`core.transitions.move`,
`funds.donations.next_receipt_no`, `funds.ledger.post`) hold those writes here instead,
and they go to the database a few statements per batch.

What stays true:
- Every read sees every held write: before any statement the session runs, what is held
  is sent first (a `do_orm_execute` listener), as the ORM's autoflush does for its own
  pending objects. Only a batch that reads nothing in between gets the saving.
- A conditional UPDATE is still decided by the database: when it is sent, a row that
  another transaction moved first makes the whole send raise `Conflict`. The caller must
  then roll the batch back (a savepoint around it) and apply it the ordinary way.
- Writes are sent in the order they were made.

Outside `collecting()` nothing changes: the services write at once, as they always have.
"""

from collections.abc import Callable
from contextlib import contextmanager
from functools import cache
from typing import Protocol, TypeVar

from sqlalchemy import bindparam, event, update
from sqlalchemy.orm import ORMExecuteState, Session

from core.errors import Conflict
from core.extensions import db

_KEY = "write_behind"


class Part(Protocol):
    """One kind of held write; `send` writes what is held on the session's connection and empties it."""

    def send(self, session: Session) -> None: ...


P = TypeVar("P", bound=Part)


class WriteBehind:
    def __init__(self, session: Session):
        self.session = session
        self.parts: dict[str, Part] = {}
        self.sending = False

    def part(self, name: str, make: Callable[[], P]) -> P:
        if name not in self.parts:
            self.parts[name] = make()
        return self.parts[name]  # type: ignore[return-value]

    def send(self) -> None:
        """Send everything held, part by part in the order the parts were first used."""
        if self.sending:
            return
        self.sending = True
        try:
            for part in self.parts.values():
                part.send(self.session)
        finally:
            self.sending = False


def active() -> WriteBehind | None:
    """The batch collecting writes on this session, if any."""
    return db.session.info.get(_KEY)


@contextmanager
def collecting():
    """Hold the services' writes until the block ends (or a read needs them); sent when it ends.

    On an exception, what is still held is dropped: the caller rolls its savepoint back.
    """
    session = db.session()
    if _KEY in session.info:
        raise RuntimeError("write-behind batches do not nest")
    batch = WriteBehind(session)
    session.info[_KEY] = batch
    try:
        yield batch
        batch.send()
    finally:
        session.info.pop(_KEY, None)


@event.listens_for(Session, "do_orm_execute")
def _send_before_statement(state: ORMExecuteState) -> None:
    batch = state.session.info.get(_KEY)
    if batch is not None:
        batch.send()


# --- conditional updates (core.transitions.move) ---------------------------------------------


class ConditionalUpdates:
    """UPDATEs that must each touch exactly one row, sent as executemany runs of one shape."""

    def __init__(self):
        self.held: list[tuple] = []

    def add(self, table, where: dict, changes: dict) -> None:
        self.held.append((table, where, changes))

    def send(self, session: Session) -> None:
        held, self.held = self.held, []
        run: list = []
        for item in held:
            if run and _shape(run[0]) != _shape(item):
                _send_run(session, run)
                run = []
            run.append(item)
        if run:
            _send_run(session, run)


def _shape(item) -> tuple:
    table, where, changes = item
    return table, tuple(where), tuple(changes)


def _send_run(session: Session, run: list) -> None:
    table, where, changes = run[0]
    statement = _statement(table, tuple(where), tuple(changes))
    result = session.connection().execute(statement, [_params(w, c) for _t, w, c in run])
    if result.rowcount != len(run):
        # Another transaction moved one of these rows first: the batch must be applied again.
        raise Conflict()


def conditional_update(table, where: dict, changes: dict):
    """The UPDATE of one row that matches every value of `where`, setting `changes`, and its parameters.

    One statement per shape (table, columns compared, columns set) is built and kept: the
    same object keeps its compiled form, so a busy path such as a claim does not build it again.
    """
    return _statement(table, tuple(where), tuple(changes)), _params(where, changes)


@cache
def _statement(table, where: tuple[str, ...], changes: tuple[str, ...]):
    return (
        update(table)
        .where(*(table.c[name] == bindparam(f"w_{name}") for name in where))
        .values({name: bindparam(f"v_{name}") for name in changes})
    )


def _params(where: dict, changes: dict) -> dict:
    return {**{f"w_{k}": v for k, v in where.items()}, **{f"v_{k}": v for k, v in changes.items()}}


def hold_update(table, where: dict, changes: dict) -> bool:
    """Hold a one-row conditional UPDATE if a batch is collecting; False if there is none."""
    batch = active()
    if batch is None:
        return False
    batch.part("updates", ConditionalUpdates).add(table, where, changes)
    return True
