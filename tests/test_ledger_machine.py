"""Random sequences of donations, refunds and disputes never break the ledger's invariants."""

import itertools

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, initialize, invariant, precondition, rule

from core.errors import DomainError
from core.extensions import db
from core.models import Role
from funds import donations as funds
from funds import integrity, ledger
from funds.models import Donation, DonationStatus
from tests.conftest import _empty_tables
from tests.factories import make_fund, make_user

AMOUNTS = st.integers(min_value=100, max_value=500_000)
_keys = itertools.count()


def _donor():
    return funds.DonorInput(name="周先生", contact="13800001111")


class LedgerMachine(RuleBasedStateMachine):
    donations = Bundle("donations")

    @initialize()
    def fresh_books(self):
        _empty_tables()
        self.admin = make_user(Role.FUND_ADMIN)
        self.funds = [make_fund("xixin-hutong", "溪心护童"), make_fund("dianliang", "点亮希望")]
        #: What each fund should hold, kept by this model independently of the ledger.
        self.expected = {f.id: 0 for f in self.funds}
        self.opened: dict[int, str] = {}

    def _commit(self):
        db.session.commit()

    @rule(
        target=donations,
        amount=AMOUNTS,
        fund=st.integers(0, 1),
        channel=st.sampled_from(["card", "alipay", "wechat_pay"]),
    )
    def donate_online(self, amount, fund, channel):
        target = funds.Target(self.funds[fund])
        donation = funds.create_donation(target, amount, _donor(), channel)
        assert funds.succeed(donation, "stripe")
        assert not funds.succeed(donation, "stripe"), "a second success report books nothing"
        self._commit()
        self.expected[donation.fund_id] += amount
        return donation.id

    @rule(
        target=donations,
        amount=AMOUNTS,
        fund=st.integers(0, 1),
        channel=st.sampled_from(["cash", "bank_transfer", "cheque"]),
    )
    def donate_offline(self, amount, fund, channel):
        donation = funds.record_offline(self.admin, funds.Target(self.funds[fund]), amount, _donor(), channel, "REF-1")
        self._commit()
        self.expected[donation.fund_id] += amount
        return donation.id

    @rule(amount=AMOUNTS)
    def payment_fails(self, amount):
        donation = funds.create_donation(funds.Target(self.funds[0]), amount, _donor(), "card")
        assert funds.fail(donation, "stripe", "card declined")
        self._commit()

    @rule(donation_id=donations, share=st.floats(min_value=0.01, max_value=1.0))
    def refund(self, donation_id, share):
        donation = db.session.get(Donation, donation_id)
        refundable = donation.amount_fen - donation.refunded_fen - donation.disputed_fen
        amount = max(1, int(refundable * share))
        key = f"refund:{next(_keys)}"
        try:
            applied = funds.refund(donation, amount, self.admin, source_key=key)
        except DomainError:
            db.session.rollback()
            return
        self._commit()
        assert applied
        self.expected[donation.fund_id] -= amount
        # The same refund delivered again changes nothing.
        assert not funds.refund(db.session.get(Donation, donation_id), amount, self.admin, source_key=key)

    @rule(donation_id=donations)
    def dispute(self, donation_id):
        donation = db.session.get(Donation, donation_id)
        if donation.channel not in ("card", "alipay", "wechat_pay") or donation.status == DonationStatus.DISPUTED:
            return
        held = donation.amount_fen - donation.refunded_fen
        key = f"dispute:{next(_keys)}"
        if funds.open_dispute(donation, held, "stripe", source_key=key):
            self._commit()
            self.opened[donation_id] = key
            self.expected[donation.fund_id] -= held

    @precondition(lambda self: bool(self.opened))
    @rule(won=st.booleans(), data=st.data())
    def close_dispute(self, won, data):
        donation_id = data.draw(st.sampled_from(sorted(self.opened)))
        donation = db.session.get(Donation, donation_id)
        held = donation.disputed_fen
        assert funds.close_dispute(
            donation, won, "stripe", opened_key=self.opened.pop(donation_id), source_key=f"closed:{next(_keys)}"
        )
        self._commit()
        if won:
            self.expected[donation.fund_id] += held

    @invariant()
    def books_balance(self):
        if not hasattr(self, "funds"):
            return
        assert integrity.check() == []
        figures = ledger.figures()
        for fund_id, balance in self.expected.items():
            assert figures[fund_id].balance_fen == balance


LedgerMachine.TestCase.settings = settings(
    max_examples=15,
    stateful_step_count=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def test_ledger_state_machine(db):
    from hypothesis.stateful import run_state_machine_as_test

    run_state_machine_as_test(LedgerMachine, settings=LedgerMachine.TestCase.settings)
