"""The public event API (DESIGN.md §5): the list of events and a board's snapshot."""

from datetime import datetime

from flask import Blueprint
from pydantic import BaseModel

from core.api import api
from core.extensions import csrf
from core.urls import public_url
from events import services
from events.models import EventStatus

bp = Blueprint("events_api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)


class EventOut(BaseModel):
    slug: str
    title: str
    status: EventStatus
    starts_at: datetime
    venue: str
    board_url: str
    stream_url: str


class EventList(BaseModel):
    items: list[EventOut]


class BoardEvent(BaseModel):
    slug: str
    title: str
    status: EventStatus


class BoardChild(BaseModel):
    alias: str
    age: int
    district: str


class BoardWish(BaseModel):
    id: str
    title: str
    status: str
    child: BoardChild
    public_name: str | None


class Board(BaseModel):
    event: BoardEvent
    wishes: list[BoardWish]
    claimed: int
    total: int
    raised_fen: int
    last_event_id: str


@api.route(
    bp,
    "GET",
    "/events",
    "Public events: live and upcoming",
    responses={200: ("The events", EventList)},
)
def list_events():
    items = [
        EventOut(
            slug=e.slug,
            title=e.title,
            status=e.status,
            starts_at=e.starts_at,
            venue=e.venue,
            board_url=public_url("events.board", slug=e.slug),
            stream_url=public_url("events.stream", slug=e.slug),
        )
        for e in services.public_events()
    ]
    return EventList(items=items).model_dump(mode="json")


@api.route(
    bp,
    "GET",
    "/events/<slug>/board",
    "An event's board: its featured wishes, who claimed them, the counter and the money raised",
    responses={200: ("The board", Board), 404: ("No such event", None)},
)
def get_board(slug: str):
    return Board.model_validate(services.board(services.get_event(slug))).model_dump(mode="json")
