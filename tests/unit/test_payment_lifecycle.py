"""The payment's lifecycle as a table, the judges that pick its events, and its invariants.

Pure domain: no use case, no fake, no I/O. The rules the e2e payment flows show through
HTTP (tests/e2e/test_payment_flows.py) are pinned here where they live.
"""

import itertools
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from marketlink.domain.errors import InvalidPaymentTransition
from marketlink.domain.money import Money
from marketlink.domain.orders import OrderStatus
from marketlink.domain.payments import (
    TRANSITIONS,
    Judgement,
    NoticeResult,
    Payment,
    PaymentChange,
    PaymentEvent,
    PaymentFlag,
    PaymentState,
    PaymentStatus,
    RefundStatus,
    ValidatedFacts,
    Verdict,
    ending_the_gateway_reports,
    judge_failure,
    judge_success,
)

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
LATER = NOW + timedelta(minutes=5)
TRAN_ID = "MLTEST0001"
S, F, R, E = PaymentStatus, PaymentFlag, RefundStatus, PaymentEvent
NONE, PAY, FAIL, CANCEL = None, OrderStatus.PAID, OrderStatus.FAILED, OrderStatus.CANCELLED

OPEN = PaymentState(S.INITIATED)
FAILED = PaymentState(S.FAILED)
CANCELLED = PaymentState(S.CANCELLED)
PAID = PaymentState(S.VALID)
HELD = PaymentState(S.VALID, F.REVIEW)


def refunding(status: PaymentStatus, refund: RefundStatus) -> PaymentState:
    return PaymentState(status, F.REFUND, refund)


V_PENDING, V_FAILED, V_REFUNDED = (refunding(S.VALID, r) for r in (R.PENDING, R.FAILED, R.REFUNDED))
X_PENDING, X_FAILED, X_REFUNDED = (
    refunding(S.REJECTED, r) for r in (R.PENDING, R.FAILED, R.REFUNDED)
)

# The lifecycle as the contract (docs/api.md "Payments") reads, written out a second time.
ALLOWED: dict[tuple[PaymentState, PaymentEvent], tuple[PaymentState, OrderStatus | None]] = {
    (OPEN, E.SESSION_OPENED): (OPEN, NONE),
    (OPEN, E.SESSION_FAILED): (FAILED, NONE),
    (OPEN, E.FAILED): (FAILED, FAIL),
    (OPEN, E.ABANDONED): (CANCELLED, CANCEL),
    **{(s, E.VALIDATED): (PAID, PAY) for s in (OPEN, FAILED, CANCELLED)},
    **{(s, E.VALIDATED_RISKY): (HELD, NONE) for s in (OPEN, FAILED, CANCELLED)},
    **{(s, E.LATE): (V_PENDING, NONE) for s in (OPEN, FAILED, CANCELLED, PAID)},
    (HELD, E.ACCEPTED): (PAID, PAY),
    (HELD, E.REFUND_REQUESTED): (V_PENDING, NONE),
    (PAID, E.REFUND_REQUESTED): (V_PENDING, NONE),
    **{(s, E.MISMATCH): (X_PENDING, NONE) for s in (OPEN, FAILED, CANCELLED, PAID, HELD)},
    (V_PENDING, E.MISMATCH): (X_PENDING, NONE),
    (V_FAILED, E.MISMATCH): (X_FAILED, NONE),
    (V_REFUNDED, E.MISMATCH): (X_REFUNDED, NONE),
    (X_PENDING, E.MISMATCH): (X_PENDING, NONE),
    (X_FAILED, E.MISMATCH): (X_FAILED, NONE),
    (X_REFUNDED, E.MISMATCH): (X_REFUNDED, NONE),
    (V_PENDING, E.REFUND_ACCEPTED): (V_PENDING, NONE),
    (V_PENDING, E.REFUND_REFUSED): (V_FAILED, NONE),
    (V_PENDING, E.REFUND_COMPLETED): (V_REFUNDED, NONE),
    (V_FAILED, E.REFUND_REQUESTED): (V_PENDING, NONE),
    (X_PENDING, E.REFUND_ACCEPTED): (X_PENDING, NONE),
    (X_PENDING, E.REFUND_REFUSED): (X_FAILED, NONE),
    (X_PENDING, E.REFUND_COMPLETED): (X_REFUNDED, NONE),
    (X_FAILED, E.REFUND_REQUESTED): (X_PENDING, NONE),
}

# Every combination of the three fields, reachable or not.
ALL_STATES = [
    PaymentState(status, flag, refund)
    for status, flag, refund in itertools.product(S, [None, *F], [None, *R])
]


def payment_in(state: PaymentState = OPEN, amount: str = "1500.00") -> Payment:
    return Payment(
        tran_id=TRAN_ID,
        order_id=uuid.UUID(int=1),
        amount=Money.of(amount),
        created_at=NOW,
        updated_at=NOW,
        status=state.status,
        flag=state.flag,
        refund_status=state.refund_status,
    )


def facts(
    *,
    status: str = "VALID",
    tran_id: str = TRAN_ID,
    amount: str | None = "1500.00",
    currency: str = "BDT",
    risk: int = 0,
) -> ValidatedFacts:
    return ValidatedFacts(
        status=status,
        tran_id=tran_id,
        amount=None if amount is None else Decimal(amount),
        currency=currency,
        risk_level=risk,
        val_id="VAL1",
        bank_tran_id="BANK1",
        card_type="BKASH-BKash",
        card_no="017XXXXXX89",
    )


def apply(payment: Payment, event: PaymentEvent, now: datetime = LATER) -> PaymentChange | None:
    """Each event through the method a use case calls for it."""
    match event:
        case E.SESSION_OPENED:
            return payment.open_session("SK1", "https://gateway.test/SK1", now)
        case E.SESSION_FAILED:
            return payment.fail_session(now)
        case E.VALIDATED:
            return payment.record_validation(Judgement(Verdict.CONFIRM), facts(), now)
        case E.VALIDATED_RISKY:
            return payment.record_validation(Judgement(Verdict.REVIEW), facts(risk=1), now)
        case E.MISMATCH:
            return payment.record_validation(Judgement(Verdict.MISMATCH), facts(), now)
        case E.LATE:
            return payment.arrived_late(now)
        case E.FAILED:
            return payment.record_failure(Judgement(Verdict.FAIL), now)
        case E.ABANDONED:
            return payment.record_failure(Judgement(Verdict.ABANDON), now)
        case E.ACCEPTED:
            return payment.accept(now, order_pending=True)
        case E.REFUND_REQUESTED:
            return payment.request_refund(now)
        case E.REFUND_ACCEPTED:
            return payment.refund_accepted("REF1", now)
        case E.REFUND_REFUSED:
            return payment.refund_refused(now)
        case E.REFUND_COMPLETED:
            return payment.refund_completed(now)
    raise AssertionError(event)


# The table -----------------------------------------------------------------------------------


def test_the_table_is_the_lifecycle_the_contract_describes():
    assert {pair: (step.to, step.order_status) for pair, step in TRANSITIONS.items()} == ALLOWED


@pytest.mark.parametrize(("state", "event"), list(itertools.product(ALL_STATES, E)), ids=str)
def test_every_pair_of_state_and_event_is_either_in_the_table_or_refused(state, event):
    payment = payment_in(state)
    assert payment.can(event) is ((state, event) in ALLOWED)
    if (state, event) in ALLOWED:
        to, order = ALLOWED[state, event]
        change = apply(payment, event)
        assert payment.state == to
        assert change == PaymentChange(state, to, order)
        assert payment.updated_at == LATER
    else:
        with pytest.raises(InvalidPaymentTransition) as refused:
            apply(payment, event)
        assert refused.value.code == "invalid_payment_transition"
        assert (refused.value.state, refused.value.event) == (state, event)
        assert payment.state == state, "a refused event changes nothing"
        assert payment.updated_at == NOW


def test_every_state_of_the_table_can_be_reached_from_a_new_payment():
    reached, frontier = {OPEN}, [OPEN]
    while frontier:
        state = frontier.pop()
        for (source, _), step in TRANSITIONS.items():
            if source == state and step.to not in reached:
                reached.add(step.to)
                frontier.append(step.to)
    assert reached == {source for source, _ in TRANSITIONS} | {s.to for s in TRANSITIONS.values()}
    assert len(reached) == 11


def test_a_refund_request_is_counted_only_when_it_asks_for_the_money_anew():
    assert apply(payment_in(PAID), E.REFUND_REQUESTED).requests_refund
    assert apply(payment_in(V_FAILED), E.REFUND_REQUESTED).requests_refund
    assert apply(payment_in(OPEN), E.MISMATCH).requests_refund
    assert not apply(payment_in(V_PENDING), E.MISMATCH).requests_refund
    assert not apply(payment_in(V_REFUNDED), E.MISMATCH).requests_refund
    assert not apply(payment_in(V_PENDING), E.REFUND_ACCEPTED).requests_refund


def test_the_gateway_references_are_kept_only_for_an_event():
    payment = payment_in(OPEN)
    apply(payment, E.SESSION_OPENED)
    assert (payment.session_key, payment.gateway_url) == ("SK1", "https://gateway.test/SK1")
    assert payment.record_validation(Judgement(Verdict.REJECT, "x"), facts(), LATER) is None
    assert payment.record_validation(Judgement(Verdict.IGNORE, "x"), facts(), LATER) is None
    assert (payment.state, payment.val_id, payment.paid_amount) == (OPEN, "", None)
    assert payment.updated_at == LATER  # from opening the session, not from the two above
    apply(payment, E.VALIDATED)
    assert (payment.val_id, payment.bank_tran_id, payment.card_no, payment.risk_level) == (
        "VAL1",
        "BANK1",
        "017XXXXXX89",
        0,
    )
    assert payment.paid_amount == Money.of("1500.00")


def test_a_failed_session_forgets_the_session_and_a_new_refund_request_its_old_reference():
    payment = payment_in(OPEN)
    payment.session_key = "SK-HALF"
    apply(payment, E.SESSION_FAILED)
    assert (payment.state, payment.session_key, payment.gateway_url) == (FAILED, "", "")
    payment = payment_in(V_PENDING)
    apply(payment, E.REFUND_ACCEPTED)
    assert payment.refund_ref_id == "REF1"
    payment.refund_accepted("", LATER)
    assert payment.refund_ref_id == "REF1", "an answer without a reference keeps the one we have"
    apply(payment, E.REFUND_REFUSED)
    apply(payment, E.REFUND_REQUESTED)
    assert (payment.state, payment.refund_ref_id) == (V_PENDING, "")


# The rules, judged from the validation API's facts (from the e2e payment flows) ------------------


@pytest.mark.parametrize(
    ("validated", "reason"),
    [
        (facts(amount="1600.00"), "amount_mismatch"),  # overpaid
        (facts(amount="1400.00"), "amount_mismatch"),  # underpaid
        (facts(amount="1500.01"), "amount_mismatch"),
        (facts(amount=None), "amount_mismatch"),
        (facts(currency="USD"), "currency_mismatch"),
    ],
)
def test_a_tampered_amount_or_currency_pays_nothing_and_is_flagged_for_refund(validated, reason):
    payment = payment_in(OPEN)
    judgement = judge_success(payment, True, validated)
    assert judgement == Judgement(Verdict.MISMATCH, reason)
    assert judgement.notice_result is NoticeResult.REJECTED
    change = payment.record_validation(judgement, validated, LATER)
    assert change is not None and change.order_status is None and change.requests_refund
    assert payment.state == X_PENDING


@pytest.mark.parametrize(
    ("validated", "refunded"),
    [
        (facts(amount="1600.00"), Money.of("1600.00")),  # all of it, not the order's 1500.00
        (facts(amount="1400.00"), Money.of("1400.00")),  # 1500.00 would be refused
        # The refund API takes a bare BDT amount: a foreign payment is left to an admin.
        (facts(currency="USD"), None),
        (facts(amount=None), None),  # nor is an amount the gateway did not say
    ],
)
def test_a_mismatch_refunds_what_was_paid_or_is_left_to_an_admin(validated, refunded):
    payment = payment_in(OPEN)
    payment.record_validation(judge_success(payment, True, validated), validated, LATER)
    assert payment.refund_amount() == refunded


def test_a_notice_resigned_onto_another_tran_id_or_not_validated_changes_nothing():
    payment = payment_in(OPEN)
    for validated, reason in [
        (facts(tran_id="MLOTHER"), "tran_id does not belong to this payment"),
        (facts(status="INVALID_TRANSACTION"), "validation status INVALID_TRANSACTION"),
        (facts(status=""), "validation status missing"),
    ]:
        judgement = judge_success(payment, True, validated)
        assert judgement == Judgement(Verdict.REJECT, reason)
        assert judgement.notice_result is NoticeResult.REJECTED
        assert payment.record_validation(judgement, validated, LATER) is None
    assert (payment.state, payment.val_id, payment.bank_tran_id) == (OPEN, "", "")


def test_a_matching_payment_pays_its_pending_order():
    payment = payment_in(OPEN)
    judgement = judge_success(payment, True, facts())
    assert judgement == Judgement(Verdict.CONFIRM)
    assert judgement.notice_result is NoticeResult.PROCESSED
    change = payment.record_validation(judgement, facts(), LATER)
    assert change is not None and change.order_status is PAY
    assert payment.state == PAID
    assert payment.refund_amount() == Money.of("1500.00")


def test_a_payment_after_expiry_is_kept_and_flagged_for_refund():
    payment = payment_in(OPEN)
    judgement = judge_success(payment, False, facts())
    assert judgement == Judgement(Verdict.LATE, "order no longer pending")
    assert judgement.notice_result is NoticeResult.PROCESSED
    change = payment.record_validation(judgement, facts(), LATER)
    assert change is not None and change.order_status is None and change.requests_refund
    assert payment.state == V_PENDING, "the money arrived: recorded, never lost"
    assert payment.refund_amount() == Money.of("1500.00")


def test_a_payment_whose_order_was_ended_first_by_another_path_goes_back():
    payment = payment_in(OPEN)
    payment.record_validation(Judgement(Verdict.CONFIRM), facts(), LATER)
    change = payment.arrived_late(LATER)
    assert change.requests_refund and payment.state == V_PENDING


def test_a_risky_payment_is_held_and_pays_the_order_only_when_accepted():
    payment = payment_in(OPEN)
    judgement = judge_success(payment, True, facts(risk=1))
    assert judgement == Judgement(Verdict.REVIEW, "high risk")
    change = payment.record_validation(judgement, facts(risk=1), LATER)
    assert change is not None and change.order_status is None
    assert payment.state == HELD and payment.risk_level == 1
    again = judge_success(payment, True, facts(risk=1))
    assert again == Judgement(Verdict.IGNORE, "payment already counted")
    assert payment.accept(LATER, order_pending=True) == PaymentChange(HELD, PAID, PAY)
    with pytest.raises(InvalidPaymentTransition):
        payment.accept(LATER, order_pending=True)


def test_a_payment_accepted_for_an_order_no_longer_pending_is_flagged_for_refund():
    payment = payment_in(HELD)
    change = payment.accept(LATER, order_pending=False)
    assert change == PaymentChange(HELD, V_PENDING, NONE)
    assert change.requests_refund


@pytest.mark.parametrize(
    ("gateway_status", "verdict", "reason", "to", "order"),
    [
        ("FAILED", Verdict.FAIL, "payment failed at the gateway", FAILED, FAIL),
        ("CANCELLED", Verdict.ABANDON, "payment cancelled at the gateway", CANCELLED, CANCEL),
        ("UNATTEMPTED", Verdict.ABANDON, "payment unattempted at the gateway", CANCELLED, CANCEL),
        ("EXPIRED", Verdict.ABANDON, "payment expired at the gateway", CANCELLED, CANCEL),
    ],
)
def test_a_failed_or_abandoned_attempt_ends_its_pending_order(
    gateway_status, verdict, reason, to, order
):
    payment = payment_in(OPEN)
    judgement = judge_failure(payment, True, gateway_status)
    assert judgement == Judgement(verdict, reason)
    assert judgement.notice_result is NoticeResult.PROCESSED
    assert payment.record_failure(judgement, LATER) == PaymentChange(OPEN, to, order)


@pytest.mark.parametrize("state", [PAID, HELD, FAILED, CANCELLED, V_PENDING, X_PENDING, X_REFUNDED])
def test_a_failure_for_a_settled_payment_or_an_ended_order_changes_nothing(state):
    for payment, pending in [(payment_in(state), True), (payment_in(OPEN), False)]:
        judgement = judge_failure(payment, pending, "FAILED")
        assert judgement == Judgement(Verdict.IGNORE, "FAILED for a settled payment")
        assert payment.record_failure(judgement, LATER) is None


@pytest.mark.parametrize("state", [PAID, HELD, V_PENDING, V_FAILED, V_REFUNDED])
def test_a_counted_payment_is_counted_once(state):
    payment = payment_in(state)
    assert judge_success(payment, True, facts()) == Judgement(
        Verdict.IGNORE, "payment already counted"
    )


@pytest.mark.parametrize("state", [X_PENDING, X_FAILED, X_REFUNDED])
@pytest.mark.parametrize("order_pending", [True, False])
@pytest.mark.parametrize("risk", [0, 1])
def test_a_payment_refused_and_flagged_for_refund_can_pay_nothing_any_more(
    state, order_pending, risk
):
    payment = payment_in(state)
    judgement = judge_success(payment, order_pending, facts(risk=risk))
    assert judgement == Judgement(Verdict.IGNORE, "payment flagged for refund")
    assert payment.record_validation(judgement, facts(risk=risk), LATER) is None
    assert payment.state == state


def test_a_mismatch_still_counts_against_any_payment():
    payment = payment_in(PAID)
    assert judge_success(payment, False, facts(amount="1.00")).verdict is Verdict.MISMATCH


# Invariants over any sequence of what can happen ------------------------------------------------

SUCCESS_FACTS = st.one_of(
    st.just(facts()),
    st.just(facts(risk=1)),
    st.just(facts(amount="1500", status="VALIDATED")),
    st.builds(
        facts,
        status=st.sampled_from(["VALID", "VALIDATED", "INVALID_TRANSACTION"]),
        tran_id=st.sampled_from([TRAN_ID, "MLOTHER"]),
        amount=st.sampled_from(["1500.00", "1400.00", "1600.00", None]),
        currency=st.sampled_from(["BDT", "USD"]),
        risk=st.sampled_from([0, 1]),
    ),
)
ACTIONS = st.one_of(
    # A notice of success, judged on the validation API's facts; True: another path ends
    # the order in the same moment, and wins.
    st.tuples(st.just("success"), SUCCESS_FACTS, st.booleans()),
    st.tuples(st.just("failure"), st.sampled_from(["FAILED", "CANCELLED", "EXPIRED"])),
    st.tuples(st.just("order_ends")),  # expiry, a cancel, a failed job: not through this payment
    st.tuples(st.just("accept"), st.booleans()),  # an admin; True: another path wins
    st.tuples(st.just("admin_refund")),
    st.tuples(st.just("refund_answer"), st.sampled_from(["accepted", "refused", "completed"])),
    st.tuples(st.just("event"), st.sampled_from(list(E))),  # anything at all, allowed or not
)


class OrderModel:
    """The payment's order, as far as the payment's rules see it."""

    def __init__(self) -> None:
        self.status = "pending"

    @property
    def pending(self) -> bool:
        return self.status == "pending"

    def pay(self, change: PaymentChange, payment: Payment, race_lost: bool) -> PaymentChange:
        """What a use case does with a change that pays the order."""
        if change.order_status is not PAY:
            return change
        if race_lost or not self.pending:
            self.status = "ended"
            late = payment.arrived_late(LATER)
            return PaymentChange(change.before, late.after)
        self.status = "paid"
        return change


def refused(payment: Payment, event: PaymentEvent) -> None:
    before = payment.state
    with pytest.raises(InvalidPaymentTransition):
        apply(payment, event)
    assert payment.state == before


def act(payment: Payment, order: OrderModel, action: tuple) -> PaymentChange | None:
    """One thing happening, applied the way the use cases apply it."""
    match action:
        case ("success", validated, race_lost):
            judgement = judge_success(payment, order.pending, validated)
            change = payment.record_validation(judgement, validated, LATER)
            return None if change is None else order.pay(change, payment, race_lost)
        case ("failure", status):
            change = payment.record_failure(judge_failure(payment, order.pending, status), LATER)
            if change is not None and change.order_status in (FAIL, CANCEL):
                order.status = "ended"
            return change
        case ("order_ends",):
            was_paid = order.status == "paid"
            order.status = "ended"
            if was_paid and payment.status is S.VALID and payment.refund_status is None:
                return payment.request_refund(LATER)  # a paid order's money goes back
            return None
        case ("accept", race_lost):
            if not payment.can(E.ACCEPTED):
                return refused(payment, E.ACCEPTED)
            change = payment.accept(LATER, order_pending=order.pending)
            return order.pay(change, payment, race_lost)
        case ("admin_refund",):
            if payment.flag is F.REVIEW and order.pending:
                order.status = "ended"
            if payment.flag is None or not payment.can(E.REFUND_REQUESTED):
                return None
            return payment.request_refund(LATER)
        case ("refund_answer", answer):
            event = {
                "accepted": E.REFUND_ACCEPTED,
                "refused": E.REFUND_REFUSED,
                "completed": E.REFUND_COMPLETED,
            }[answer]
            return apply(payment, event) if payment.can(event) else refused(payment, event)
        case ("event", event):
            if not payment.can(event):
                return refused(payment, event)
            change = apply(payment, event)
            if event is E.ACCEPTED and change is not None:
                return order.pay(change, payment, race_lost=False)
            return change
    raise AssertionError(action)


@settings(max_examples=300)
@given(st.lists(ACTIONS, max_size=25))
def test_any_sequence_keeps_the_payment_rules(actions):
    payment, order = payment_in(OPEN), OrderModel()
    requested = refusals = 0
    refund_asked = refunded = False
    for action in actions:
        before, was_pending = payment.state, order.pending
        change = act(payment, order, action)
        after = payment.state
        if change is not None:
            assert (change.before, change.after) == (before, after)

        # A refund is requested at most once per payment: again only after the gateway
        # refused the last one, and never once it was given back.
        if change is not None and change.requests_refund:
            assert not refunded
            requested += 1
        if before.refund_status is R.PENDING and after.refund_status is R.FAILED:
            refusals += 1
        assert requested - refusals <= 1
        refunded = refunded or after.refund_status is R.REFUNDED

        # A payment whose refund was asked for (or done) is never counted as paid again.
        refund_asked = refund_asked or after.refund_status is not None
        if refund_asked:
            assert after.flag is F.REFUND
            assert not (after.status is S.VALID and after.flag is None)
            assert change is None or change.order_status is not PAY

        # Held for review, a payment makes its order paid only when an admin accepts it.
        if before.flag is F.REVIEW and change is not None and change.order_status is PAY:
            assert action[0] == "accept" or action == ("event", E.ACCEPTED)

        # Accepted for an order no longer pending (or that another path ends in the same
        # moment): flagged for refund. Accepted in time, it paid the order.
        if action[0] == "accept" and before == HELD:
            if was_pending and not action[1]:
                assert (after, order.status) == (PAID, "paid")
            else:
                assert (after.flag, after.refund_status) == (F.REFUND, R.PENDING)


@given(st.lists(ACTIONS, max_size=25))
def test_a_held_payment_accepted_after_its_order_ended_goes_back(actions):
    payment, order = payment_in(OPEN), OrderModel()
    for action in actions:
        act(payment, order, action)
    if payment.state == HELD:
        order.status = "ended"
        change = payment.accept(LATER, order_pending=order.pending)
        assert change.order_status is None
        assert (payment.flag, payment.refund_status) == (F.REFUND, R.PENDING)


@pytest.mark.parametrize(
    ("reported", "ending"),
    [
        ([], None),
        (["PENDING"], None),
        (["FAILED"], "FAILED"),
        (["failed ", "CANCELLED"], "CANCELLED"),
        (["FAILED", "VALID"], None),
        (["VALIDATED", "EXPIRED"], None),
        (["UNATTEMPTED"], "UNATTEMPTED"),
    ],
)
def test_an_attempt_ends_only_as_the_gateway_reports_and_never_once_paid(reported, ending):
    assert ending_the_gateway_reports(reported) == ending
