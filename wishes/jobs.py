"""The wishes' periodic work, run by the scheduler and by `flask --app app expire-claims`; each owns its commits."""

from core.errors import DomainError
from core.transactions import transaction
from wishes.services import expire_claim, overdue_claims


def expire_overdue_claims() -> int:
    """Release every claim past its due date that was never reported delivered, one commit each."""
    expired = 0
    for claim in overdue_claims():
        try:
            with transaction():
                expire_claim(claim)
        except DomainError:
            continue
        expired += 1
    return expired
