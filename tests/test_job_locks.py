"""A second scheduler process (or one per machine) never runs a job at the same time as the first.

PostgreSQL: an advisory lock, gone the moment its holder dies. SQLite: a lease row that a
dead holder leaves to run out. Each test starts real processes.
"""

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from core.clock import clock_at, utcnow
from core.extensions import db as _db
from core.outbox import Notification
from reminders.locks import LEASE, job_lock
from reminders.models import ClaimReminder
from tests.factories import claim, make_child, make_wish

ROOT = Path(__file__).resolve().parent.parent

HOLDER = """
import sys, time
from app import create_app
from reminders.locks import job_lock
app = create_app({"SQLALCHEMY_ENGINE_OPTIONS": {}})
with app.app_context(), job_lock(sys.argv[1]) as held:
    print("held" if held else "busy", flush=True)
    time.sleep(120)
"""


@pytest.fixture
def env(database_url):
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "SECRET_KEY": "test-secret",
        "PUBLIC_BASE_URL": "http://localhost",
        "LOG_JSON": "1",
        "SCHEDULER_NICE": "0",
    }


def jobs_run(env, name, *extra) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "app", "jobs", "run", name, *extra],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_a_job_held_by_one_process_is_not_run_by_another(env, db):
    with job_lock("deliver-mail") as held:
        assert held
        second = jobs_run(env, "deliver-mail")
        _out, err = second.communicate(timeout=60)
        assert second.returncode == 3, err
        assert "running in another process" in err
    after = jobs_run(env, "deliver-mail")
    out, err = after.communicate(timeout=60)
    assert after.returncode == 0, err
    assert out.startswith("deliver-mail: ok")


def test_the_lock_of_a_killed_holder_is_freed(env, db):
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, "send-claim-reminders"], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        with job_lock("send-claim-reminders") as held:
            assert not held
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=30)
    if _db.engine.dialect.name == "postgresql":
        # The server ends the dead process's session, and its advisory locks with it.
        deadline = time.monotonic() + 10
        while True:
            with job_lock("send-claim-reminders") as held:
                if held or time.monotonic() > deadline:
                    break
            time.sleep(0.2)
        assert held
    else:
        with job_lock("send-claim-reminders") as held:
            assert not held, "The lease outlives its holder for a while."
        with clock_at(utcnow() + LEASE + timedelta(minutes=1)), job_lock("send-claim-reminders") as held:
            assert held, "Once the lease has run out another process takes over."


def test_two_processes_running_the_reminders_at_once_send_each_reminder_once(env, db):
    child = make_child()
    claims = [claim(make_wish(child=child), contact=f"d{n}@example.org")[0] for n in range(30)]
    due = max(c.due_at for c in claims)
    moment = (due - timedelta(hours=2)).isoformat()
    first, second = (
        jobs_run(env, "send-claim-reminders", "--now", moment),
        jobs_run(env, "send-claim-reminders", "--now", moment),
    )
    outcomes = [first.communicate(timeout=120), second.communicate(timeout=120)]
    assert {first.returncode, second.returncode} <= {0, 3}, outcomes
    _db.session.commit()
    assert _db.session.scalar(select(func.count()).select_from(ClaimReminder)) == 30
    assert (
        _db.session.scalar(select(func.count()).select_from(Notification).where(Notification.kind == "claim.reminder"))
        == 30
    )


def _scheduler(env) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "app", "scheduler"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def _stop(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def test_two_scheduler_processes_mail_a_claim_its_manage_link_once_within_a_minute(env, db):
    from tests.smtp_server import SMTPServer, text_of

    with SMTPServer() as smtp:
        env = {**env, "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": str(smtp.port)}
        schedulers = [_scheduler(env), _scheduler(env)]
        try:
            _c, token = claim(make_wish(), contact="soon@example.org")
            claimed = time.monotonic()
            while not smtp.to("soon@example.org") and time.monotonic() - claimed < 60:
                time.sleep(0.5)
            arrived = time.monotonic() - claimed
            [message] = smtp.to("soon@example.org")
            assert arrived < 60
            assert f"http://localhost/claims/manage/{token}" in text_of(message)
            # Both schedulers go on delivering every 15 s: the mail is still sent once.
            time.sleep(16)
            assert len(smtp.to("soon@example.org")) == 1
        finally:
            for process in schedulers:
                _stop(process)
    for process in schedulers:
        assert process.returncode == 0, process.stderr.read()[-2000:]
