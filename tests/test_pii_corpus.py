"""Precision and recall of the personal-data detector over tests/pii_corpus.py.

Every sample is scanned with the corpus's child file. A positive counts as found only
when the detector reports the kind the sample names; a negative counts against
precision when the detector reports anything. Measured figures are in docs/privacy.md.
"""

from core import pii
from tests.pii_corpus import FILE, NEGATIVE, POSITIVE


def _kinds(text: str) -> set[str]:
    return {w.kind for w in pii.scan(text, FILE)}


def test_the_corpus_is_large_enough():
    assert len(POSITIVE) >= 50 and len(NEGATIVE) >= 50
    assert len({t for t, _k in POSITIVE}) == len(POSITIVE) and len(set(NEGATIVE)) == len(NEGATIVE)


def test_precision_and_recall_are_at_least_ninety_percent(app):
    missed = [(text, kind) for text, kind in POSITIVE if kind not in _kinds(text)]
    false_alarms = [(text, sorted(_kinds(text))) for text in NEGATIVE if _kinds(text)]
    true_positives = len(POSITIVE) - len(missed)
    precision = true_positives / (true_positives + len(false_alarms))
    recall = true_positives / len(POSITIVE)
    print(f"\npersonal-data detector: precision {precision:.3f}, recall {recall:.3f}")
    print(f"  missed: {missed}\n  false alarms: {false_alarms}")
    assert precision >= 0.9 and recall >= 0.9, (missed, false_alarms)
