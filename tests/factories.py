"""Small builders with keyword overrides; each goes through the real services."""

import itertools
from datetime import date, timedelta

from core.clock import local_today
from core.extensions import db
from core.models import Role
from core.services import create_user
from funds.models import Fund
from wishes import places, services
from wishes.models import WishStatus

_seq = itertools.count(1)
PASSWORD = "correct-horse-1"


def make_user(*roles, email=None, name=None, password=PASSWORD):
    n = next(_seq)
    user = create_user(email or f"user{n}@example.org", password, name or f"用户{n}", roles=roles or [Role.DONOR])
    db.session.commit()
    return user


def child_data(**overrides) -> dict:
    n = next(_seq)
    data = {
        "case_no": f"CASE-{n:05d}",
        "legal_name": "李小明",
        "birth_date": date(local_today().year - 9, 3, 14),
        "gender": "male",
        "guardian_name": "李建国",
        "guardian_phone": "13912345678",
        "address": "江海街道幸福路88号3栋201室",
        "school": "梁溪区实验小学",
        "category": "left_behind",
        "district": "梁溪区",
        "street": "江海街道",
        "community": "凤宾社区",
        "alias": "小明星",
        "notes": "",
    }
    data.update(overrides)
    return data


def child_form(**overrides) -> dict:
    """A child's file as the staff form posts it: the place as one choice of the managed list,
    which is put on the list first."""
    data = child_data(**overrides)
    district, street, community = data.pop("district"), data.pop("street"), data.pop("community") or ""
    places.ensure_place(district, street, community)
    data["place"] = f"{district}|{street}|{community}"
    data["birth_date"] = (
        data["birth_date"].isoformat() if hasattr(data["birth_date"], "isoformat") else data["birth_date"]
    )
    return data


def make_child(caseworker=None, **overrides):
    caseworker = caseworker or make_user(Role.CASEWORKER)
    data = child_data(**overrides)
    # A child's place comes from the managed list: a test's place is put on it first.
    places.ensure_place(data["district"], data["street"], data["community"] or "")
    child = services.register_child(caseworker, data)
    db.session.commit()
    return child


def wish_data(**overrides) -> dict:
    data = {
        "title": "一个新书包",
        "story": "旧书包坏了，希望新学期能背上一个结实的新书包去上学。",
        "category": "study",
        "amount_fen": 12000,
        "needed_by": local_today() + timedelta(days=60),
        "modes": "gift",
        "fund": None,
    }
    data.update(overrides)
    return data


def make_fund(slug="xixin-hutong", name="溪心护童专项基金"):
    fund = Fund(slug=slug, name=name, description="")
    db.session.add(fund)
    db.session.commit()
    return fund


def make_wish(status=WishStatus.PUBLISHED, child=None, caseworker=None, supervisor=None, **overrides):
    """A wish moved through the real lifecycle up to `status`."""
    if child is None:
        child = make_child(caseworker)
    caseworker = db.session.get(type(child.caseworker), child.caseworker_id)
    wish = services.draft_wish(caseworker, child, wish_data(**overrides))
    if status != WishStatus.DRAFT:
        services.submit_wish(caseworker, wish)
    if status in (
        WishStatus.PUBLISHED,
        WishStatus.REJECTED,
        WishStatus.CLAIMED,
        WishStatus.FULFILLED,
        WishStatus.CLOSED,
        WishStatus.WITHDRAWN,
    ):
        supervisor = supervisor or make_user(Role.SUPERVISOR)
        if status == WishStatus.REJECTED:
            services.reject_wish(supervisor, wish, "请删去学校名称")
        else:
            services.approve_wish(supervisor, wish)
    if status == WishStatus.WITHDRAWN:
        services.withdraw_wish(caseworker, wish, "孩子已搬家")
    if status in (WishStatus.CLAIMED, WishStatus.FULFILLED, WishStatus.CLOSED):
        claim, _token = services.claim_wish(
            wish, services.ClaimInput(name="周先生", contact="13800001111", display_name="周先生", capped=False)
        )
        if status in (WishStatus.FULFILLED, WishStatus.CLOSED):
            services.confirm_fulfilment(caseworker, claim)
        if status == WishStatus.CLOSED:
            services.close_wish(caseworker, wish)
    db.session.commit()
    return wish


def claim(wish, **overrides):
    # A fixture's claims are set-up, not a donor's: the caps on active claims do not count them.
    data = {"name": "周先生", "contact": "donor@example.org", "display_name": "周先生", "capped": False}
    data.update(overrides)
    result = services.claim_wish(wish, services.ClaimInput(**data))
    db.session.commit()
    return result


def login(client, user, password=PASSWORD):
    response = client.post("/login", data={"email": user.email, "password": password})
    assert response.status_code == 302, response.data[:500]
    return response
