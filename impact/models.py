"""Service activities that staff record: the visits, case work and sessions the field reports count in 人次."""

import enum
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.clock import utcnow
from core.extensions import db
from core.models import User
from core.types import UTCDateTime
from core.types import enum_values as _enum_values
from funds.models import Fund, Project


class ActivityKind(enum.StrEnum):
    HOME_VISIT = "home_visit"  # 走访（入户探访）
    CASE_WORK = "case_work"  # 个案服务
    GROUP_SESSION = "group_session"  # 小组活动
    SCHOOL_SESSION = "school_session"  # 进校园（校园成长课堂）
    COMMUNITY_ACTIVITY = "community_activity"  # 社区活动
    COUNSELLING = "counselling"  # 心理关爱（咨询、疏导）
    PHONE_FOLLOW_UP = "phone_follow_up"  # 电话回访
    OTHER = "other"


ACTIVITY_KIND_LABELS = {
    ActivityKind.HOME_VISIT: _l("Home visit"),
    ActivityKind.CASE_WORK: _l("Case work"),
    ActivityKind.GROUP_SESSION: _l("Group session"),
    ActivityKind.SCHOOL_SESSION: _l("School session"),
    ActivityKind.COMMUNITY_ACTIVITY: _l("Community activity"),
    ActivityKind.COUNSELLING: _l("Counselling"),
    ActivityKind.PHONE_FOLLOW_UP: _l("Phone follow-up"),
    ActivityKind.OTHER: _l("Other service"),
}


class ServiceActivity(db.Model):
    """One session of service (一场次): when, what kind, where, how many children and how many
    people-times (人次) it reached. Never a child's name: the note is checked like a wish's story."""

    __tablename__ = "service_activities"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The local day it took place.
    happened_on: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(20))
    #: A place of the managed list (wishes.places), copied so that the list may change later.
    district: Mapped[str] = mapped_column(String(40))
    street: Mapped[str] = mapped_column(String(40))
    community: Mapped[str] = mapped_column(String(60), default="")
    fund_id: Mapped[int | None] = mapped_column(ForeignKey("funds.id"), index=True)
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id"), index=True)
    #: Different children the session reached.
    children: Mapped[int] = mapped_column()
    #: People served, counted the way the bureaus do (人次): children, guardians and others, each time.
    people: Mapped[int] = mapped_column()
    note: Mapped[str | None] = mapped_column(Text)
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: A record made in error is voided with a reason, never deleted: it stops counting and stays on file.
    voided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    voided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    void_reason: Mapped[str | None] = mapped_column(String(200))

    fund: Mapped[Fund | None] = relationship()
    project: Mapped[Project | None] = relationship()
    recorded_by: Mapped[User] = relationship(foreign_keys=[recorded_by_id])
    voided_by: Mapped[User | None] = relationship(foreign_keys=[voided_by_id])

    __table_args__ = (
        CheckConstraint(f"kind IN ({_enum_values(ActivityKind)})", name="kind"),
        CheckConstraint("children >= 0 AND people >= 1 AND children <= people", name="counts"),
        Index("ix_service_activities_happened_on", "happened_on"),
        Index("ix_service_activities_district", "district", "happened_on"),
    )

    @property
    def place_label(self) -> str:
        return " · ".join(part for part in (self.district, self.street, self.community) if part)

    @property
    def voided(self) -> bool:
        return self.voided_at is not None
