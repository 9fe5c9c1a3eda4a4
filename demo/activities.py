"""A season of service activities, in the numbers of the field reports: 96 school sessions reaching
2,038 people-times, 273 people-times of case work, group sessions, home visits and community
activities, spread over the demo's places and the report's default period (the last twelve months). Recorded through the service."""

import random
from datetime import timedelta

from sqlalchemy import select

from core.clock import local_today
from core.extensions import db
from funds.models import Fund
from impact import report, services
from impact.models import ActivityKind

#: (kind, sessions, people-times in all, children per session or None for "everyone was a child",
#:  the fund's slug or None, notes to choose from)
SEASON = [
    (
        ActivityKind.SCHOOL_SESSION,
        96,
        2038,
        None,
        "dianliang-xiwang",
        [
            "校园成长课堂：防欺凌与自我保护",
            "校园成长课堂：考试减压",
            "校园成长课堂：网络安全教育",
            "校园成长课堂：生命教育",
        ],
    ),
    (
        ActivityKind.CASE_WORK,
        91,
        273,
        1,
        "dianliang-xiwang",
        ["个案服务：情绪疏导与学习支持", "个案服务：家庭关系调适", "个案服务：社会交往能力提升"],
    ),
    (
        ActivityKind.GROUP_SESSION,
        40,
        813,
        None,
        None,
        ["小组活动：生涯探索", "小组活动：人际交往", "小组活动：抗逆力培养"],
    ),
    (
        ActivityKind.HOME_VISIT,
        85,
        170,
        1,
        "xixin-hutong",
        ["入户走访，了解孩子学习和生活情况", "寒假入户慰问，送去学习用品", "与监护人谈心，讲解未成年人保护知识"],
    ),
    (
        ActivityKind.COMMUNITY_ACTIVITY,
        37,
        914,
        None,
        None,
        ["社区亲子公益电影", "职业体验活动", "新春社区活动", "运动挑战赛"],
    ),
]


def _split(total: int, parts: int) -> list[int]:
    """`total` in `parts` whole numbers that differ by at most one and add up exactly."""
    base, extra = divmod(total, parts)
    return [base + (1 if index < extra else 0) for index in range(parts)]


def seed_activities(caseworkers, places: list[tuple[str, str, str]], rng: random.Random) -> int:
    funds = {f.slug: f.id for f in db.session.scalars(select(Fund))}
    today = local_today()
    # Within the report's default period, so that the public page shows the whole season.
    span = (today - report.default_period(today).since).days + 1
    recorded = 0
    for kind, sessions, people, children_each, fund_slug, notes in SEASON:
        for index, count in enumerate(_split(people, sessions)):
            district, street, community = places[(index + recorded) % len(places)]
            services.record_activity(
                caseworkers[index % len(caseworkers)],
                services.ActivityInput(
                    happened_on=today - timedelta(days=rng.randrange(0, span)),
                    kind=kind,
                    place=f"{district}|{street}|{community}",
                    children=min(children_each, count) if children_each is not None else count,
                    people=count,
                    note=notes[index % len(notes)],
                    fund_id=funds.get(fund_slug) if fund_slug else None,
                ),
            )
        recorded += sessions
    return recorded
