"""The wish state machine, vetting rules and the audit trail, through the services."""

from datetime import timedelta

import pytest
import time_machine
from sqlalchemy.orm.attributes import set_committed_value

from core import audit
from core.clock import end_of_local_day, local_today, utcnow
from core.errors import Conflict, Forbidden, InvalidTransition, ValidationError
from core.models import Role
from tests.factories import claim, make_child, make_user, make_wish, wish_data
from wishes import services
from wishes.models import WISH_TRANSITIONS, ClaimStatus, WishStatus


def test_caseworker_drafts_submits_and_supervisor_publishes(db):
    caseworker = make_user(Role.CASEWORKER)
    supervisor = make_user(Role.SUPERVISOR)
    child = make_child(caseworker)
    wish = services.draft_wish(caseworker, child, wish_data())
    services.submit_wish(caseworker, wish)
    assert wish in services.vetting_queue()
    services.approve_wish(supervisor, wish, "写得很好")
    db.session.commit()
    assert wish.status == WishStatus.PUBLISHED
    assert wish.published_at is not None
    assert wish.vetted_by_id == supervisor.id
    actions = [row.action for row in audit.history(wish)]
    assert actions == ["wish.drafted", "wish.submitted", "wish.approved"]


def test_supervisor_can_never_vet_own_draft(db):
    both = make_user(Role.CASEWORKER, Role.SUPERVISOR)
    wish = make_wish(WishStatus.SUBMITTED, child=make_child(both))
    with pytest.raises(Forbidden):
        services.approve_wish(both, wish)
    with pytest.raises(Forbidden):
        services.reject_wish(both, wish, "不行")
    db.session.rollback()
    assert services.get_wish(wish.id).status == WishStatus.SUBMITTED


def test_only_supervisors_vet(db):
    wish = make_wish(WishStatus.SUBMITTED)
    other_caseworker = make_user(Role.CASEWORKER)
    with pytest.raises(Forbidden):
        services.approve_wish(other_caseworker, wish)


def test_reject_needs_a_reason_and_returns_to_draft(db):
    wish = make_wish(WishStatus.SUBMITTED)
    supervisor = make_user(Role.SUPERVISOR)
    with pytest.raises(ValidationError) as exc:
        services.reject_wish(supervisor, wish, "  ")
    assert "reason" in exc.value.fields
    services.reject_wish(supervisor, wish, "故事里有学校名称")
    assert wish.status == WishStatus.REJECTED and wish.reject_reason == "故事里有学校名称"
    services.reopen_wish(wish.created_by, wish)
    assert wish.status == WishStatus.DRAFT


@pytest.mark.parametrize("status", list(WishStatus))
def test_every_move_outside_the_table_is_refused(db, status):
    """Walk each state and try every target that DESIGN.md §3 does not allow."""
    wish = make_wish(status)
    for target in WishStatus:
        if target in WISH_TRANSITIONS[status]:
            continue
        with pytest.raises(InvalidTransition):
            services._move_wish(wish, target, "test", "wish.test")
    db.session.rollback()
    assert services.get_wish(wish.id).status == status


def test_stale_copy_cannot_overwrite_a_newer_state(db, app):
    """A page loaded before someone claimed the wish cannot withdraw it afterwards."""
    wish = make_wish(WishStatus.PUBLISHED)
    version = wish.version
    claim(wish)
    set_committed_value(wish, "status", WishStatus.PUBLISHED.value)
    set_committed_value(wish, "version", version)
    with pytest.raises(Conflict):
        services._move_wish(wish, WishStatus.WITHDRAWN, "test", "wish.withdrawn")
    db.session.rollback()
    assert services.get_wish(wish.id).status == WishStatus.CLAIMED


def test_only_drafts_are_edited(db):
    wish = make_wish(WishStatus.SUBMITTED)
    with pytest.raises(InvalidTransition):
        services.update_wish(wish.created_by, wish, wish_data(title="新标题"))


def test_wish_input_is_checked_before_anything_is_written(db):
    caseworker = make_user(Role.CASEWORKER)
    child = make_child(caseworker)
    bad = wish_data(
        title="x" * 61,
        story="短",
        category="toys",
        amount_fen=0,
        needed_by=local_today() - timedelta(days=1),
        modes="barter",
    )
    with pytest.raises(ValidationError) as exc:
        services.draft_wish(caseworker, child, bad)
    assert set(exc.value.fields) == {"title", "story", "category", "amount_fen", "needed_by", "modes"}
    db.session.rollback()
    assert child.wishes == []


def test_caseworker_cannot_touch_another_caseworkers_child(db):
    child = make_child()
    stranger = make_user(Role.CASEWORKER)
    with pytest.raises(Forbidden):
        services.draft_wish(stranger, child, wish_data())
    with pytest.raises(Forbidden):
        services.open_child_file(stranger, child)


def test_reading_a_private_file_is_audited(db):
    caseworker = make_user(Role.CASEWORKER)
    child = make_child(caseworker)
    services.open_child_file(caseworker, child)
    db.session.commit()
    assert [r.action for r in audit.history(child)] == ["child.registered", "child.viewed"]
    # The trail names what changed, never a second copy of the private values.
    services.update_child(caseworker, child, {**_child_fields(child), "guardian_phone": "13700000000"})
    row = audit.history(child)[-1]
    assert row.after == {"changed": ["guardian_phone"]}


def _child_fields(child):
    keys = [
        "case_no",
        "legal_name",
        "birth_date",
        "gender",
        "guardian_name",
        "guardian_phone",
        "address",
        "school",
        "category",
        "district",
        "street",
        "community",
        "alias",
        "notes",
    ]
    return {k: getattr(child, k) for k in keys}


def test_alias_may_not_contain_the_legal_name(db):
    caseworker = make_user(Role.CASEWORKER)
    with pytest.raises(ValidationError) as exc:
        make_child(caseworker, legal_name="王小雨", alias="小雨王小雨")
    assert "alias" in exc.value.fields


def test_fulfilment_confirmed_by_caseworker_shows_donor_name(db, request_ctx):
    wish = make_wish(WishStatus.PUBLISHED)
    c, _token = claim(wish, display_name="梁溪青年志愿者")
    services.report_delivery(c, f"donor:{c.public_id}", "已送到未保站")
    services.confirm_fulfilment(wish.created_by, c)
    db.session.commit()
    assert wish.status == WishStatus.FULFILLED
    assert c.status == ClaimStatus.FULFILLED
    assert wish.fulfilled_claim.public_name == "梁溪青年志愿者"
    services.close_wish(wish.created_by, wish)
    assert wish.status == WishStatus.CLOSED


def test_anonymous_donor_is_shown_as_a_caring_donor(db, app):
    wish = make_wish(WishStatus.PUBLISHED)
    c, _ = claim(wish, display_name="真名", anonymous=True)
    with app.test_request_context(headers={"Accept-Language": "zh-CN"}):
        assert c.public_name == "爱心人士"


def test_due_date_is_hold_days_capped_by_needed_by(db, app):
    soon = local_today() + timedelta(days=3)
    wish = make_wish(WishStatus.PUBLISHED, needed_by=soon)
    c, _ = claim(wish)
    assert c.due_at <= utcnow() + timedelta(days=4)
    later = make_wish(WishStatus.PUBLISHED, needed_by=local_today() + timedelta(days=200))
    c2, _ = claim(later)
    hold = app.config["CLAIM_HOLD_DAYS"]
    # The whole of the last day: the due date a donor reads is a day.
    assert c2.due_at == end_of_local_day(local_today() + timedelta(days=hold))


def test_overdue_claim_expires_and_wish_returns_to_the_list(db):
    wish = make_wish(WishStatus.PUBLISHED)
    c, _ = claim(wish)
    with pytest.raises(InvalidTransition):
        services.expire_claim(c)
    with time_machine.travel(c.due_at + timedelta(minutes=1)):
        from wishes.jobs import expire_overdue_claims

        assert expire_overdue_claims() == 1
    db.session.refresh(c)
    db.session.refresh(wish)
    assert c.status == ClaimStatus.EXPIRED
    assert wish.status == WishStatus.PUBLISHED
    assert [r.action for r in audit.history(c)][-1] == "claim.expired"
    assert "wish.released" in [r.action for r in audit.history(wish)]


def test_claim_with_reported_delivery_is_not_expired(db):
    wish = make_wish(WishStatus.PUBLISHED)
    c, _ = claim(wish)
    services.report_delivery(c, "donor", "送到了")
    db.session.commit()
    with time_machine.travel(c.due_at + timedelta(days=1)):
        from wishes.jobs import expire_overdue_claims

        assert expire_overdue_claims() == 0
    assert services.get_claim(c.id).status == ClaimStatus.ACTIVE


def test_cancel_releases_the_wish_once(db):
    wish = make_wish(WishStatus.PUBLISHED)
    c, _ = claim(wish)
    services.cancel_claim(c, "donor", "出差")
    db.session.commit()
    assert wish.status == WishStatus.PUBLISHED and c.status == ClaimStatus.CANCELLED
    with pytest.raises(InvalidTransition):
        services.cancel_claim(c, "donor")
