"""A caseworker and a supervisor doing their work through the web pages."""

from datetime import timedelta

from core.clock import local_today
from core.models import AuditLog, Role
from tests.factories import claim, login, make_child, make_user, make_wish
from wishes import places
from wishes.models import Child, ClaimStatus, Wish, WishStatus


def _child_form(**overrides):
    data = {
        "case_no": "LX-2025-001",
        "legal_name": "张晓燕",
        "birth_date": str(local_today().replace(year=local_today().year - 10, month=5, day=1)),
        "gender": "female",
        "guardian_name": "张国强",
        "guardian_phone": "13911112222",
        "address": "健康里12号",
        "school": "崇安寺实验小学",
        "category": "left_behind",
        "place": "梁溪区|崇安寺街道|健康里社区",
        "alias": "小燕",
        "notes": "",
    }
    data.update(overrides)
    return data


def test_caseworker_registers_child_drafts_and_submits(client, db):
    caseworker = make_user(Role.CASEWORKER)
    login(client, caseworker)
    # A place that is not on the managed list is refused; once a supervisor adds it, it is taken.
    refused = client.post("/staff/children/new", data=_child_form())
    assert refused.status_code == 422 and "从列表中选择" in refused.get_data(as_text=True)
    places.add_place(make_user(Role.SUPERVISOR), "梁溪区", "崇安寺街道", "健康里社区")
    db.session.commit()
    assert "梁溪区 · 崇安寺街道 · 健康里社区" in client.get("/staff/children/new").get_data(as_text=True)
    response = client.post("/staff/children/new", data=_child_form())
    assert response.status_code == 302
    child = db.session.query(Child).one()
    assert child.legal_name == "张晓燕" and child.caseworker_id == caseworker.id
    response = client.post(
        f"/staff/children/{child.id}/wishes/new",
        data={
            "title": "一套课外读物",
            "story": "喜欢读童话和科普书，想要一套属于自己的课外书。",
            "category": "books",
            "amount": "150.50",
            "needed_by": str(local_today() + timedelta(days=30)),
            "modes": "gift",
            "fund": "",
        },
    )
    assert response.status_code == 302
    wish = db.session.query(Wish).one()
    assert wish.amount_fen == 15050 and wish.status == WishStatus.DRAFT
    assert client.post(f"/staff/wishes/{wish.id}/submit").status_code == 302
    db.session.refresh(wish)
    assert wish.status == WishStatus.SUBMITTED
    page = client.get(f"/staff/wishes/{wish.id}")
    # The trail speaks in words, never in the log's codes.
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and f"由{caseworker.display_name}提交审核" in text
    assert "wish.submitted" not in text and "draft →" not in text


def test_supervisor_vets_with_warnings_and_cannot_vet_own(client, db):
    caseworker = make_user(Role.CASEWORKER)
    child = make_child(caseworker, legal_name="王小雨", alias="雨儿")
    leaky = make_wish(WishStatus.SUBMITTED, child=child, story="王小雨在梁溪区实验小学读书，有事打13912345678联系。")
    clean = make_wish(WishStatus.SUBMITTED, child=child)
    supervisor = make_user(Role.SUPERVISOR)
    login(client, supervisor)
    queue = client.get("/staff/vetting")
    assert leaky.title.encode() in queue.data
    review = client.get(f"/staff/vetting/{leaky.id}").get_data(as_text=True)
    assert "王小雨" in review and "13912345678" in review and "梁溪区实验小学" in review
    client.post(f"/staff/wishes/{leaky.id}/reject", data={"reason": "请删去姓名、学校和电话"})
    client.post(f"/staff/wishes/{clean.id}/approve", data={"note": ""})
    db.session.refresh(leaky)
    db.session.refresh(clean)
    assert leaky.status == WishStatus.REJECTED and clean.status == WishStatus.PUBLISHED
    assert clean.public_id.encode() in client.get("/").data

    own = make_wish(WishStatus.SUBMITTED, child=make_child(make_user(Role.CASEWORKER)))
    own.created_by_id = supervisor.id
    db.session.commit()
    client.post(f"/staff/wishes/{own.id}/approve", data={})
    db.session.refresh(own)
    assert own.status == WishStatus.SUBMITTED


def test_caseworker_confirms_fulfilment_and_public_page_credits_donor(client, db):
    caseworker = make_user(Role.CASEWORKER)
    wish = make_wish(child=make_child(caseworker))
    c, _ = claim(wish, display_name="梁溪青年志愿者")
    login(client, caseworker)
    assert c.wish.title.encode() in client.get("/staff/claims").data
    client.post(f"/staff/claims/{c.id}/confirm", data={"note": "已转交"})
    db.session.refresh(c)
    assert c.status == ClaimStatus.FULFILLED
    page = client.get(f"/wishes/{wish.public_id}")
    assert "梁溪青年志愿者".encode() in page.data
    actions = {a for (a,) in db.session.query(AuditLog.action)}
    assert {"claim.fulfilled", "wish.fulfilled"} <= actions


def test_overdue_claim_released_by_staff(client, db):
    import time_machine

    caseworker = make_user(Role.CASEWORKER)
    wish = make_wish(child=make_child(caseworker))
    c, _ = claim(wish)
    login(client, caseworker)
    client.post(f"/staff/claims/{c.id}/expire")
    db.session.refresh(c)
    assert c.status == ClaimStatus.ACTIVE  # not yet due
    with time_machine.travel(c.due_at + timedelta(hours=1)):
        client.post(f"/staff/claims/{c.id}/expire")
    db.session.refresh(c)
    db.session.refresh(wish)
    assert c.status == ClaimStatus.EXPIRED and wish.status == WishStatus.PUBLISHED


def test_the_queue_shows_which_wishes_carry_personal_data_and_the_caseworker_is_warned_first(client, app, db):
    from tests.helpers import client_for

    caseworker = make_user(Role.CASEWORKER)
    child = make_child(caseworker, legal_name="王小雨", alias="雨儿")
    leaky = make_wish(
        WishStatus.DRAFT, child=child, title="一把尤克里里", story="王小雨想学琴，有事打13912345678联系。"
    )
    make_wish(WishStatus.SUBMITTED, child=child, title="一盒彩色铅笔", story="她从小就非常喜欢画画，想要一盒彩铅。")

    login(client, caseworker)
    page = client.get(f"/staff/wishes/{leaky.id}").get_data(as_text=True)
    assert "先修改" in page and "仍然提交" in page
    assert client.post(f"/staff/wishes/{leaky.id}/submit").status_code == 302

    supervisor_client = client_for(app)
    login(supervisor_client, make_user(Role.SUPERVISOR))
    queue = supervisor_client.get("/staff/vetting").get_data(as_text=True)
    rows = {row.split("</a>")[0].rsplit(">", 1)[-1]: row for row in queue.split("<tr>")[2:]}
    assert "姓名" in rows["一把尤克里里"] and "电话号码" in rows["一把尤克里里"]
    assert "未发现" in rows["一盒彩色铅笔"]
    # The queue names the kinds of data, never the values.
    assert "13912345678" not in queue and "王小雨" not in queue
