"""Jobs and mail (DESIGN.md §5): the commands, SMTP delivery, claim reminders at most once, the latest only."""

import re
from datetime import UTC, datetime, time, timedelta

import pytest
import time_machine
from sqlalchemy import func, select

from core.clock import clock_at, local_today, zone
from core.extensions import db as _db
from core.models import Role
from core.outbox import Notification
from reminders.models import ClaimReminder
from tests.factories import claim, login, make_fund, make_user, make_wish
from tests.smtp_server import SMTPServer, html_of, text_of
from wishes.models import Claim, ClaimStatus, WishStatus


@pytest.fixture
def smtp(app, monkeypatch):
    with SMTPServer() as server:
        monkeypatch.setitem(app.config, "MAIL_SERVER", "127.0.0.1")
        monkeypatch.setitem(app.config, "MAIL_PORT", server.port)
        yield server


def at_local(day, hour=9) -> str:
    """An ISO time for --now: `hour` o'clock on `day` in the site's zone."""
    return datetime.combine(day, time(hour), tzinfo=zone()).isoformat()


def due_day(c: Claim):
    return c.due_at.astimezone(zone()).date()


def run(runner, name, now=None):
    args = ["jobs", "run", name] + (["--now", now] if now else [])
    _db.session.commit()
    result = runner.invoke(args=args)
    # End the test's own read so that it sees what the job committed.
    _db.session.commit()
    return result


def reminders_of(c: Claim) -> list[int]:
    return sorted(_db.session.scalars(select(ClaimReminder.days_before).where(ClaimReminder.claim_id == c.id)))


# --- the commands -----------------------------------------------------------------------------


def test_jobs_list_names_every_contract_job_with_its_schedule(runner):
    result = runner.invoke(args=["jobs", "list"])
    assert result.exit_code == 0, result.output
    lines = {line.split()[0]: line for line in result.output.splitlines() if line.strip()}
    for name in ("send-claim-reminders", "expire-overdue-claims", "deliver-mail", "pairing-reminders"):
        assert name in lines
        assert re.search(r"every \d+ (s|min|h)", lines[name])


def test_jobs_run_refuses_an_unknown_job_and_a_bad_time(runner):
    unknown = runner.invoke(args=["jobs", "run", "send-everything"])
    assert unknown.exit_code == 2 and "send-claim-reminders" in unknown.output
    bad = runner.invoke(args=["jobs", "run", "deliver-mail", "--now", "next tuesday"])
    assert bad.exit_code == 2


def test_a_claim_with_an_email_is_mailed_its_absolute_manage_link_over_smtp(runner, smtp, db):
    wish = make_wish()
    _claim, token = claim(wish, contact="donor@example.org")
    result = run(runner, "deliver-mail")
    assert result.exit_code == 0, result.output
    assert "1 done" in result.output
    [message] = smtp.to("donor@example.org")
    assert f"http://localhost/claims/manage/{token}" in text_of(message)
    # A claim's own message cannot be unsubscribed from.
    assert message["List-Unsubscribe"] is None
    assert run(runner, "deliver-mail").exit_code == 0
    assert len(smtp.to("donor@example.org")) == 1, "A sent notification is never sent again."


def test_one_delivery_run_sends_its_batch_over_one_smtp_connection(runner, smtp, db):
    for n in range(3):
        claim(make_wish(), contact=f"batch{n}@example.org")
    assert "3 done" in run(runner, "deliver-mail").output
    assert smtp.connections == 1 and len(smtp.messages) == 3


def test_scheduler_settings_are_chosen_not_defaulted(app):
    from reminders.jobs import JOBS, build_scheduler

    scheduler = build_scheduler(app)
    for job in JOBS:
        aps = scheduler.get_job(job.name)
        assert aps.coalesce is True
        assert aps.max_instances == 1
        # APScheduler 3's default of 1 s would silently drop a run that starts a little late.
        assert aps.misfire_grace_time == job.seconds


# --- claim reminders --------------------------------------------------------------------------


@pytest.mark.parametrize("hour", [1, 9, 23])
def test_a_claim_made_at_any_hour_runs_to_the_end_of_its_due_day(runner, db, hour):
    """The due-day reminder goes out in the morning of that day, whatever the hour of the claim."""
    claimed_on = local_today() + timedelta(days=1)
    with time_machine.travel(datetime.combine(claimed_on, time(hour, 30), tzinfo=zone())):
        c, _token = claim(make_wish(needed_by=claimed_on + timedelta(days=60)), contact="early@example.org")
    due = due_day(c)
    assert due == claimed_on + timedelta(days=14)
    assert c.due_at.astimezone(zone()).time() == time(23, 59, 59)
    assert run(runner, "send-claim-reminders", at_local(due)).exit_code == 0
    assert reminders_of(c) == [0]


def test_each_reminder_is_sent_once_however_often_the_job_runs(runner, smtp, db):
    wish = make_wish(needed_by=local_today() + timedelta(days=60))
    c, _token = claim(wish, contact="giver@example.org")
    due = due_day(c)
    for days_before in (7, 2, 0):
        moment = at_local(due - timedelta(days=days_before))
        for _ in range(3):
            assert run(runner, "send-claim-reminders", moment).exit_code == 0
        assert run(runner, "deliver-mail", moment).exit_code == 0
    assert reminders_of(c) == [0, 2, 7]
    mails = smtp.to("giver@example.org")
    # The claim's own mail, then one reminder per offset.
    assert len(mails) == 4
    reminder = mails[1]
    body = text_of(reminder)
    assert wish.title in reminder["Subject"] and "7" in reminder["Subject"]
    assert "http://localhost/reminder/" in body
    assert "http://localhost/reminder/" in html_of(reminder)
    assert wish.child.alias in body
    for private in ("李小明", "幸福路", "13912345678", "实验小学", "李建国"):
        assert private not in body


def test_after_downtime_only_the_latest_passed_reminder_is_sent(runner, db):
    wish = make_wish(needed_by=local_today() + timedelta(days=60))
    c, _ = claim(wish)
    due = due_day(c)
    # Nothing ran for the 7-day and 2-day reminders; on the day the job runs at last.
    assert "1 done" in run(runner, "send-claim-reminders", at_local(due, 8)).output
    assert reminders_of(c) == [0]
    assert "0 done" in run(runner, "send-claim-reminders", at_local(due, 20)).output
    keys = list(db.session.scalars(select(Notification.dedupe_key).where(Notification.kind == "claim.reminder")))
    assert keys == [f"claim:{c.public_id}:reminder:0"]


def test_the_reminder_between_two_offsets_is_the_earlier_one_and_is_not_repeated(runner, db):
    wish = make_wish(needed_by=local_today() + timedelta(days=60))
    c, _ = claim(wish)
    due = due_day(c)
    run(runner, "send-claim-reminders", at_local(due - timedelta(days=5)))
    run(runner, "send-claim-reminders", at_local(due - timedelta(days=4)))
    assert reminders_of(c) == [7]


def test_offsets_that_passed_before_the_claim_are_not_sent(runner, db):
    wish = make_wish(needed_by=local_today() + timedelta(days=3))
    c, _ = claim(wish)
    due = due_day(c)
    assert due == wish.needed_by
    run(runner, "send-claim-reminders", at_local(local_today(), 23))
    assert reminders_of(c) == []
    run(runner, "send-claim-reminders", at_local(due - timedelta(days=2)))
    assert reminders_of(c) == [2]


def test_no_reminder_for_a_claim_reported_delivered_or_ended(runner, db):
    from wishes import services as wish_services

    delivered, _ = claim(make_wish())
    wish_services.report_delivery(delivered, "donor", "送到了")
    cancelled, _ = claim(make_wish())
    wish_services.cancel_claim(cancelled, "donor")
    db.session.commit()
    run(runner, "send-claim-reminders", at_local(due_day(delivered)))
    assert reminders_of(delivered) == [] and reminders_of(cancelled) == []


def test_a_fund_administrator_sets_the_reminder_days(client, runner, db):
    admin = make_user(Role.FUND_ADMIN)
    caseworker = make_user(Role.CASEWORKER)
    login(client, admin)
    refused = client.post("/staff/reminders", data={"days-days": "7, -1, x"})
    assert refused.status_code == 422
    saved = client.post("/staff/reminders", data={"days-days": "3"})
    assert saved.status_code == 302
    c, _ = claim(make_wish(needed_by=local_today() + timedelta(days=60)))
    due = due_day(c)
    run(runner, "send-claim-reminders", at_local(due - timedelta(days=7)))
    assert reminders_of(c) == []
    run(runner, "send-claim-reminders", at_local(due - timedelta(days=3)))
    assert reminders_of(c) == [3]
    other = client.__class__(client.application, client.response_wrapper, use_cookies=True)
    login(other, caseworker)
    assert other.post("/staff/reminders", data={"days-days": "1"}).status_code == 403
    from reminders.services import claim_reminder_days

    assert claim_reminder_days() == [3], "Only a fund administrator sets the claim reminder days."


def test_a_donor_with_only_a_phone_gets_a_text_message_logged_without_the_number(runner, db, caplog):
    c, _ = claim(make_wish(), contact="13800001111")
    run(runner, "send-claim-reminders", at_local(due_day(c)))
    note = db.session.scalar(select(Notification).where(Notification.kind == "claim.reminder"))
    assert note.channel == "sms" and note.recipient == "13800001111"
    caplog.clear()
    run(runner, "deliver-mail")
    logged = " ".join(str(getattr(r, "body", "")) + str(getattr(r, "to", "")) for r in caplog.records)
    assert "text message" in [r.getMessage() for r in caplog.records]
    assert "13800001111" not in logged and "1111" in logged
    assert "/reminder/" not in logged, "The private link is a key: it stays out of the log."
    db.session.refresh(note)
    assert note.status == "sent"


def test_reminders_are_written_in_the_language_the_donor_claimed_in(client, runner, db):
    wish = make_wish()
    response = client.post(
        f"/api/v1/wishes/{wish.public_id}/claim?lang=en",
        json={"name": "Ann", "contact": "ann@example.org"},
        headers={"Accept-Language": "en"},
    )
    assert response.status_code == 201, response.data
    c = db.session.scalar(select(Claim).where(Claim.email == "ann@example.org"))
    assert c.locale == "en"
    run(runner, "send-claim-reminders", at_local(due_day(c)))
    note = db.session.scalar(select(Notification).where(Notification.kind == "claim.reminder"))
    assert "Today is the day" in note.subject


# --- the reminder's page: delivered, or more time once ------------------------------------------


def _reminder_link(db, runner, c) -> str:
    run(runner, "send-claim-reminders", at_local(due_day(c)))
    body = db.session.scalar(select(Notification.body).where(Notification.kind == "claim.reminder"))
    return re.search(r"http://localhost(/reminder/\S+)", body).group(1)


def test_more_time_once_and_never_past_the_needed_by_date(client, runner, db, app):
    wish = make_wish(needed_by=local_today() + timedelta(days=30))
    c, _ = claim(wish)
    path = _reminder_link(db, runner, c)
    page = client.get(path)
    assert page.status_code == 200 and wish.title in page.get_data(as_text=True)
    assert "no-store" in page.headers["Cache-Control"]
    old_due = c.due_at
    assert client.post(f"{path}/more-time").status_code == 302
    db.session.refresh(c)
    days = app.config["CLAIM_EXTENSION_DAYS"]
    assert c.due_at == old_due + timedelta(days=days)
    client.post(f"{path}/more-time")
    db.session.refresh(c)
    assert c.due_at == old_due + timedelta(days=days), "Only one extension."

    near = make_wish(needed_by=local_today() + timedelta(days=16))
    c2, _ = claim(near)
    from reminders.services import extend_claim_once

    extend_claim_once(c2, "donor")
    db.session.commit()
    assert due_day(c2) == near.needed_by


def test_delivered_from_the_reminder_and_forged_links_are_refused(client, runner, db):
    c, _ = claim(make_wish())
    path = _reminder_link(db, runner, c)
    assert client.get(path[:-3] + "abc").status_code == 404
    assert client.get("/reminder/not-a-token").status_code == 404
    assert client.post(path[:-2] + "xx/more-time").status_code == 404
    assert client.post(f"{path}/delivered", data={"note": "已送到未保站"}).status_code == 302
    db.session.refresh(c)
    assert c.delivery_reported_at is not None and c.delivery_note == "已送到未保站"


# --- overdue claims -----------------------------------------------------------------------------


def test_an_overdue_claim_expires_the_wish_reopens_and_the_caseworker_is_told(runner, db):
    wish = make_wish()
    c, _ = claim(wish)
    moment = (c.due_at + timedelta(hours=1)).isoformat()
    assert "1 done" in run(runner, "expire-overdue-claims", moment).output
    db.session.refresh(c)
    db.session.refresh(wish)
    assert c.status == ClaimStatus.EXPIRED and wish.status == WishStatus.PUBLISHED
    caseworker_email = wish.child.caseworker.email
    note = db.session.scalar(select(Notification).where(Notification.kind == "claim.expired"))
    assert note.recipient == caseworker_email and wish.child.alias in note.body
    assert "李小明" not in note.body


def test_a_fund_that_asks_for_it_gets_an_overdue_gift_proposed_as_a_purchase(client, runner, db):
    fund = make_fund()
    admin = make_user(Role.FUND_ADMIN)
    login(client, admin)
    assert client.post(f"/staff/reminders/funds/{fund.id}", data={"propose_purchase": "y"}).status_code == 302
    wish = make_wish(fund=fund.slug)
    c, _ = claim(wish)
    run(runner, "expire-overdue-claims", (c.due_at + timedelta(hours=1)).isoformat())
    note = db.session.scalar(select(Notification).where(Notification.kind == "purchase.proposed"))
    assert note.recipient == admin.email
    page = client.get("/staff/proposals")
    assert wish.title in page.get_data(as_text=True)
    from reminders.models import PurchaseProposal

    proposal = db.session.scalar(select(PurchaseProposal))
    assert proposal.amount_fen == wish.amount_fen
    assert client.post(f"/staff/proposals/{proposal.id}/accept").status_code == 302
    db.session.refresh(proposal)
    assert proposal.status == "accepted"


# --- delivery retries, the notifications and jobs pages ------------------------------------------


def test_failed_delivery_backs_off_gives_up_visibly_and_can_be_retried(client, runner, smtp, db):
    admin = make_user(Role.ADMIN)
    claim(make_wish(), contact="late@example.org")
    smtp.refuse = True
    start = datetime.now(UTC)
    for minute in (0, 1, 3, 7, 15, 31):
        run(runner, "deliver-mail", (start + timedelta(minutes=minute, seconds=5)).isoformat())
    note = db.session.scalar(select(Notification).where(Notification.recipient == "late@example.org"))
    assert note.status == "failed" and note.attempts == 5
    login(client, admin)
    page = client.get("/staff/notifications?status=failed")
    assert "Retry" in page.get_data(as_text=True) or "重试" in page.get_data(as_text=True)
    assert "late@example.org" not in page.get_data(as_text=True)
    assert client.post(f"/staff/notifications/{note.id}/retry").status_code == 302
    smtp.refuse = False
    run(runner, "deliver-mail")
    db.session.refresh(note)
    assert note.status == "sent" and len(smtp.to("late@example.org")) == 1


def test_the_jobs_page_shows_each_job_and_runs_one_now(client, runner, db):
    admin = make_user(Role.ADMIN)
    claim(make_wish(), contact="now@example.org")
    login(client, admin)
    page = client.get("/staff/jobs").get_data(as_text=True)
    for name in ("send-claim-reminders", "expire-overdue-claims", "deliver-mail", "pairing-reminders"):
        assert name in page
    assert client.post("/staff/jobs/deliver-mail/run").status_code == 302
    page = client.get("/staff/jobs").get_data(as_text=True)
    assert re.search(r'data-job="deliver-mail".*?status-job-ok', page, re.S)
    donor = make_user()
    other = client.__class__(client.application, client.response_wrapper, use_cookies=True)
    login(other, donor)
    assert other.get("/staff/jobs").status_code == 403
    assert other.post("/staff/jobs/deliver-mail/run").status_code == 403


def test_quiet_runs_of_a_frequent_job_keep_one_record(runner, db):
    from reminders.models import JobRun

    for _ in range(5):
        run(runner, "deliver-mail")
    assert db.session.scalar(select(func.count()).select_from(JobRun).where(JobRun.job == "deliver-mail")) == 1


def test_records_of_runs_older_than_a_month_are_dropped(runner, db):
    from core.clock import utcnow
    from reminders.models import JobRun

    old = JobRun(job="send-claim-reminders", started_at=utcnow() - timedelta(days=40), result="ok", runner="x")
    db.session.add(old)
    db.session.commit()
    old_id = old.id
    run(runner, "send-claim-reminders")
    assert db.session.get(JobRun, old_id) is None
    assert db.session.scalar(select(func.count()).select_from(JobRun)) == 1


def test_clock_at_moves_every_reading_of_the_clock(db):
    from core.clock import utcnow

    target = datetime(2027, 1, 1, 0, 0, tzinfo=UTC)
    with clock_at(target):
        assert abs(utcnow() - target) < timedelta(seconds=5)
    assert abs(utcnow() - datetime.now(UTC)) < timedelta(seconds=1)


def test_many_clicks_on_more_time_at_once_move_the_date_once(live_server, runner, db, app):
    import threading
    from concurrent.futures import ThreadPoolExecutor

    import requests

    from reminders.models import ClaimExtension
    from reminders.services import claim_link

    c, _ = claim(make_wish(needed_by=local_today() + timedelta(days=60)))
    old_due = c.due_at
    url = claim_link(c).replace("http://localhost", live_server.url) + "/more-time"
    db.session.commit()
    start = threading.Event()

    def click(_n):
        start.wait()
        return requests.post(url, allow_redirects=False, timeout=30).status_code

    with ThreadPoolExecutor(max_workers=12) as pool:
        futures = [pool.submit(click, n) for n in range(12)]
        start.set()
        statuses = [f.result() for f in futures]
    assert set(statuses) == {302}
    db.session.commit()
    db.session.refresh(c)
    assert c.due_at == old_due + timedelta(days=app.config["CLAIM_EXTENSION_DAYS"])
    assert db.session.scalar(select(func.count()).select_from(ClaimExtension)) == 1
    extended = [r for r in audit_history(c) if r.action == "claim.extended"]
    assert len(extended) == 1


def audit_history(obj):
    from core import audit

    return audit.history(obj)
