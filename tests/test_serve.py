"""`make run` serves the site and the scheduler side by side, and stops both cleanly.

The web server and the scheduler are started by the Makefile's `serve` target (which
`make run` calls after migrating and seeding), on a database of the test's own.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="needs make")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture
def site(tmp_path):
    env = {
        **os.environ,
        "FLASK_APP": "app",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'serve.db'}",
        "SECRET_KEY": "serve-test",
        "LOG_LEVEL": "WARNING",
    }
    env.pop("TEST_DATABASE_URL", None)
    subprocess.run([BIN / "flask", "db", "upgrade"], cwd=ROOT, env=env, check=True, capture_output=True, timeout=120)
    port = _free_port()
    log = (tmp_path / "serve.log").open("w+")
    process = subprocess.Popen(
        ["make", "--no-print-directory", "serve", f"BIN={BIN}", f"PORT={port}", "WORKERS=1", "THREADS=2"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        # A terminal's Ctrl-C goes to the whole foreground process group: give the run a group of its own.
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as answer:
                    assert answer.status == 200
                    break
            except OSError:
                assert process.poll() is None, "the site stopped while starting"
                assert time.monotonic() < deadline, "the site did not answer within a minute"
                time.sleep(0.3)
        yield process, log
    finally:
        if _group_alive(process.pid):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
        log.close()


def _scheduler_running(pgid: int) -> bool:
    out = subprocess.run(["ps", "-o", "args=", "-g", str(pgid)], capture_output=True, text=True).stdout
    return "scheduler" in out


def _stopped_cleanly(process, log) -> str:
    process.wait(timeout=40)
    deadline = time.monotonic() + 10
    while _group_alive(process.pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    log.seek(0)
    output = log.read()
    assert not _group_alive(process.pid), "a web worker or the scheduler outlived the run"
    assert "Segmentation fault" not in output and "Traceback" not in output
    assert "has stopped" in output
    return output


def test_ctrl_c_stops_the_web_server_and_the_scheduler(site):
    process, log = site
    assert _scheduler_running(process.pid)
    os.killpg(process.pid, signal.SIGINT)
    _stopped_cleanly(process, log)


def test_sigterm_to_make_stops_the_web_server_and_the_scheduler(site):
    process, log = site
    assert _scheduler_running(process.pid)
    process.send_signal(signal.SIGTERM)
    _stopped_cleanly(process, log)
