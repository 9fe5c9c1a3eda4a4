"""Staff digests, each recipient's language, and unsubscribing (never from a claim's own messages)."""

import re
from datetime import date, datetime, time, timedelta

from sqlalchemy import select

from core.clock import zone
from core.extensions import db as _db
from core.models import Role
from core.outbox import Notification
from reminders.messages import set_preferences
from tests.factories import claim, make_user, make_wish
from tests.smtp_server import SMTPServer, text_of
from wishes.models import WishStatus


def at(day: date, hour: int) -> str:
    return datetime.combine(day, time(hour), tzinfo=zone()).isoformat()


def run(runner, name, now=None):
    _db.session.commit()
    result = runner.invoke(args=["jobs", "run", name] + (["--now", now] if now else []))
    _db.session.commit()
    assert result.exit_code == 0, result.output
    return result


def digests(kind: str) -> list[Notification]:
    return list(_db.session.scalars(select(Notification).where(Notification.kind == kind).order_by(Notification.id)))


def test_daily_digests_once_a_day_after_the_hour_and_weekly_once_a_week(runner, db):
    caseworker = make_user(Role.CASEWORKER)
    supervisor = make_user(Role.SUPERVISOR)
    fund_admin = make_user(Role.FUND_ADMIN)
    from tests.factories import make_child

    child = make_child(caseworker)
    make_wish(WishStatus.SUBMITTED, child=child)
    monday = date(2026, 12, 7)
    run(runner, "digests", at(monday, 7))
    assert digests("digest.caseworker") == []
    for hour in (8, 12, 18):
        run(runner, "digests", at(monday, hour))
    [daily] = digests("digest.caseworker")
    assert daily.recipient == caseworker.email and "1" in daily.subject
    [queue] = digests("digest.supervisor")
    assert queue.recipient == supervisor.email
    [weekly] = digests("digest.fund_admin")
    assert weekly.recipient == fund_admin.email
    run(runner, "digests", at(monday + timedelta(days=1), 9))
    assert len(digests("digest.caseworker")) == 2
    assert len(digests("digest.fund_admin")) == 1, "Once a week."
    run(runner, "digests", at(monday + timedelta(days=7), 9))
    assert len(digests("digest.fund_admin")) == 2
    for note in digests("digest.caseworker") + digests("digest.supervisor"):
        assert "李小明" not in note.body and "幸福路" not in note.body


def test_a_digest_is_in_the_recipients_language_and_can_be_stopped(client, runner, db, app, monkeypatch):
    supervisor = make_user(Role.SUPERVISOR)
    make_wish(WishStatus.SUBMITTED)
    set_preferences(supervisor.email, locale="en")
    db.session.commit()
    with SMTPServer() as smtp:
        monkeypatch.setitem(app.config, "MAIL_SERVER", "127.0.0.1")
        monkeypatch.setitem(app.config, "MAIL_PORT", smtp.port)
        run(runner, "digests", at(date(2026, 12, 8), 9))
        run(runner, "deliver-mail")
        [message] = smtp.to(supervisor.email)
    assert message["Subject"].startswith("Vetting queue")
    header = message["List-Unsubscribe"]
    assert header and header.startswith("<http://localhost/mail/preferences/")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert header.strip("<>") in text_of(message)
    path = header.strip("<>").replace("http://localhost", "")
    # The mail provider's one-click POST, without a CSRF token.
    response = client.post(path, data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 204
    run(runner, "digests", at(date(2026, 12, 9), 9))
    assert [n.recipient for n in digests("digest.supervisor")] == [supervisor.email]
    # The preferences page: forged links are refused; the recipient may subscribe again.
    assert client.get(path[:-3] + "abc").status_code == 404
    page = client.get(path)
    assert page.status_code == 200 and supervisor.email not in page.get_data(as_text=True)
    assert client.post(path, data={"locale": "zh_CN", "subscribed": "y"}).status_code == 302
    run(runner, "digests", at(date(2026, 12, 10), 9))
    latest = digests("digest.supervisor")[-1]
    assert latest.recipient == supervisor.email and latest.subject.startswith("审核")


def test_an_unsubscribed_donor_still_gets_the_reminders_of_their_own_claim(runner, db):
    c, _ = claim(make_wish(), contact="keep@example.org")
    set_preferences("keep@example.org", subscribed=False)
    db.session.commit()
    run(runner, "send-claim-reminders", at(c.due_at.astimezone(zone()).date(), 9))
    [note] = digests("claim.reminder")
    assert note.recipient == "keep@example.org" and note.unsubscribe_url is None
    assert not re.search(r"/mail/preferences/", note.body)
