"""Schemathesis against the API in-process, on the demo data: the document and the answers agree.

Every phase an outside `schemathesis run` would use (coverage, fuzzing, and the stateful phase that
follows the document's links), with a bounded number of examples and derandomized, so it is the same
run every time and takes seconds.
"""

import threading

import pytest
import schemathesis
from schemathesis.engine import events, from_schema

from core.extensions import db as _db
from demo.data import seed_demo
from tests.helpers import fast_passwords  # noqa: F401 (an autouse fixture)

CHECKS = [
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    # What the document forbids, the API refuses: the schemas that describe are the ones that validate.
    "negative_data_rejection",
    "unsupported_method",
    "use_after_free",
    "ensure_resource_availability",
]

CONFIG = {
    "checks": {"enabled": False, **{name: {"enabled": True} for name in CHECKS}},
    "generation": {"max-examples": 25, "deterministic": True, "database": "none"},
    "phases": {"stateful": {"max-steps": 8}},
    # Values the schemas cannot say (a campaign that exists, a reachable contact, an amount within the
    # site's limits) are often drawn from these, so the answers to good requests are checked too.
    "dictionaries": {
        "campaigns": {"values": ["liangxi-marriage-registry"]},
        "contacts": {"values": ["13800001111", "zhou@example.org"]},
        "amounts": {"values": [5000, 52000]},
    },
    "parameters": {
        "path.slug": {"dictionary": "campaigns", "probability": 0.5},
        "body.contact": {"dictionary": "contacts", "probability": 0.8},
        "body.amount_fen": {"dictionary": "amounts", "probability": 0.8},
    },
}


class Run:
    def __init__(self):
        self.cases: dict[str, int] = {}
        self.failures: list[str] = []
        self.errors: list[str] = []
        self.phases: dict[str, str] = {}
        #: (phase, operation) -> the statuses it answered
        self.statuses: dict[tuple[str, str], set[int]] = {}

    def take(self, event) -> None:
        if isinstance(event, events.ScenarioFinished):
            phase = str(event.phase)
            self.cases[phase] = self.cases.get(phase, 0) + len(event.recorder.cases)
            for case_id, node in event.recorder.cases.items():
                interaction = event.recorder.interactions.get(case_id)
                if interaction is not None and interaction.response is not None:
                    key = (phase, node.value.operation.label)
                    self.statuses.setdefault(key, set()).add(interaction.response.status_code)
            for nodes in event.recorder.checks.values():
                for node in nodes:
                    if node.failure_info is not None:
                        failure = node.failure_info.failure
                        self.failures.append(
                            f"[{phase}] {node.name}: {failure.operation}: {failure.title}\n{failure.message}\n"
                            f"{node.failure_info.code_sample}"
                        )
        elif isinstance(event, events.NonFatalError):
            self.errors.append(f"{event.label}: {event.info.format()}")
        elif isinstance(event, events.FatalError):
            self.errors.append(repr(event.exception))
        elif isinstance(event, events.PhaseFinished):
            self.phases[str(event.phase.name)] = str(event.status)
        elif isinstance(event, events.EngineFinished):
            self.failures.extend(f"after the run: {failure.title}: {failure.message}" for failure in event.failures)


@pytest.fixture
def demo(db):
    seed_demo()
    _db.session.commit()
    # The requests below run in their own app contexts, as they would in a server.
    _db.session.remove()


def test_schemathesis_finds_nothing(app, demo):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app, config=schemathesis.Config.from_dict(CONFIG))
    run = Run()

    def execute():
        for event in from_schema(schema).execute():
            run.take(event)

    # A thread of its own starts without the test's app context, so every request pushes a fresh one.
    worker = threading.Thread(target=execute)
    worker.start()
    worker.join()

    print(f"schemathesis: {sum(run.cases.values())} cases {run.cases}, phases {run.phases}")
    for (phase, operation), statuses in sorted(run.statuses.items()):
        print(f"  {phase:9} {operation:45} {sorted(statuses)}")
    assert not run.errors, "\n\n".join(run.errors)
    assert not run.failures, f"{len(run.failures)} failures:\n\n" + "\n\n".join(run.failures[:10])
    assert run.phases.get("stateful") == "success", run.phases
    assert run.cases.get("stateful", 0) > 0 and run.cases.get("fuzzing", 0) > 0, run.cases
    # The links lead somewhere: following them from the lists, the stateful phase creates something.
    created = run.statuses.get(("stateful", "POST /api/v1/donations"), set()) | run.statuses.get(
        ("stateful", "POST /api/v1/wishes/{public_id}/claim"), set()
    )
    assert 201 in created, run.statuses
