"""The write-back retry policy: what each outcome does to a shipment."""

import pytest

from marketplaces import base, errors, policy
from marketplaces.policy import State

POLICY = policy.RetryPolicy()


def _order(*tracking, cancelled=False, status="UNSHIPPED"):
    return base.OrderView(
        order_ref="111-1111111-1111111",
        status=status,
        cancelled=cancelled,
        packages=[base.PackageView(tracking_number=t) for t in tracking],
    )


def _sent(*numbers, items=()):
    """What a send carried: one package per tracking number."""
    return [(number, list(items)) for number in numbers]


def test_accepted_is_submitted_and_checked_soon():
    decision = policy.after_send(None, 1, POLICY)
    assert decision.state == State.SUBMITTED
    assert decision.retry_in == POLICY.verify_delay
    assert not decision.refund_attempt and not decision.failed_attempt


@pytest.mark.parametrize("attempts", [1, 2, 3, 4])
def test_transient_retries_while_attempts_remain(attempts):
    decision = policy.after_send(errors.TransientError("HTTP 503"), attempts, POLICY)
    assert decision.state == State.PENDING
    assert decision.failed_attempt and not decision.refund_attempt
    low = POLICY.base_delay * POLICY.factor ** (attempts - 1) * (1 - POLICY.jitter)
    assert decision.retry_in >= min(low, POLICY.max_delay * (1 - POLICY.jitter))


def test_fifth_transient_failure_fails_and_notifies():
    decision = policy.after_send(errors.TransientError("HTTP 503"), 5, POLICY)
    assert decision.state == State.FAILED
    assert decision.notify
    assert "5 attempts" in decision.error


def test_rate_limit_and_auth_give_the_attempt_back():
    limited = policy.after_send(
        errors.RateLimitedError("429", retry_after=7), 1, POLICY
    )
    assert (limited.state, limited.refund_attempt, limited.retry_in) == (
        State.PENDING,
        True,
        7,
    )
    unknown = policy.after_send(errors.RateLimitedError("429"), 1, POLICY)
    assert unknown.retry_in == POLICY.rate_limit_delay
    auth = policy.after_send(errors.AuthError("invalid_grant"), 5, POLICY)
    assert auth.state == State.PENDING, "an auth failure never fails the shipment"
    assert auth.refund_attempt and auth.flag_account and not auth.failed_attempt


def test_permanent_fails_at_once_with_the_marketplace_message():
    error = errors.PermanentError("Tracking number is invalid", code="InvalidInput")
    decision = policy.after_send(error, 1, POLICY)
    assert decision.state == State.FAILED
    assert decision.error == "Tracking number is invalid (InvalidInput)"
    assert decision.notify


def test_backoff_is_exponential_capped_and_jittered():
    assert POLICY.backoff(1, rng=lambda: 0.5) == POLICY.base_delay
    assert POLICY.backoff(2, rng=lambda: 0.5) == POLICY.base_delay * POLICY.factor
    assert POLICY.backoff(50, rng=lambda: 0.5) == POLICY.max_delay
    low, high = POLICY.backoff(3, rng=lambda: 0.0), POLICY.backoff(3, rng=lambda: 1.0)
    assert low < POLICY.backoff(3, rng=lambda: 0.5) < high
    assert high / low == pytest.approx((1 + POLICY.jitter) / (1 - POLICY.jitter))


def test_verify_success_needs_every_tracking_number():
    order = _order("1Z 999", status="SHIPPED")
    assert (
        policy.after_verify(order, _sent("1z999"), 1, 10, POLICY).state == State.SUCCESS
    )
    partial = policy.after_verify(order, _sent("1Z999", "1Z998"), 1, 10, POLICY)
    assert partial.state == State.SUBMITTED


def test_verify_waits_inside_the_window_then_resends():
    order = _order()
    waiting = policy.after_verify(
        order, _sent("1Z999"), 1, POLICY.verify_window - 1, POLICY
    )
    assert (waiting.state, waiting.retry_in) == (
        State.SUBMITTED,
        POLICY.verify_interval,
    )
    late = policy.after_verify(
        order, _sent("1Z999"), 1, POLICY.verify_window + 1, POLICY
    )
    assert late.state == State.PENDING
    assert late.failed_attempt and not late.refund_attempt
    assert "accepted" in late.error and "1Z999" in late.error
    last = policy.after_verify(
        order, _sent("1Z999"), 5, POLICY.verify_window + 1, POLICY
    )
    assert last.state == State.FAILED


@pytest.mark.parametrize("shown", [(), ("X1",)])
def test_verify_cancelled_order_is_never_a_success(shown):
    """Cancelled on the marketplace, with or without our package: a person
    must intercept the parcel; never Success, never Failed, never resent."""
    order = _order(*shown, cancelled=True, status="CANCELLED")
    for decision in (
        policy.after_verify(order, _sent("X1"), 1, 0, POLICY),
        policy.after_interrupted_send(order, _sent("X1"), 1, POLICY),
        policy.after_refusal(
            errors.PermanentError("refused"), order, _sent("X1"), 1, POLICY
        ),
    ):
        assert decision.state == State.DISAGREES
        assert "cancelled on the marketplace after it was shipped" in decision.error
        assert "intercept the parcel" in decision.error
        assert decision.notify and not decision.failed_attempt


def _package(tracking, items, carrier=""):
    return base.PackageView(tracking_number=tracking, items=items, carrier=carrier)


def test_success_requires_every_quantity_shipped():
    """eBay holds 1 unit of 3 under our tracking number: not a success."""
    sent = _sent("T1", items=[("L1", 3)])
    order = base.OrderView("o", packages=[_package("T1", [("L1", 1)])])
    decision = policy.after_verify(order, sent, 1, 0, POLICY)
    assert decision.state == State.SUBMITTED
    assert policy.missing_packages(order, sent) == [
        "tracking number T1 holds only 1 of 3 x L1"
    ]
    full = base.OrderView("o", packages=[_package("T1", [("L1", 3)])])
    assert policy.after_verify(full, sent, 1, 0, POLICY).state == State.SUCCESS


def test_success_requires_the_carrier_sent():
    sent = _sent("T1", items=[("L1", 1)])
    order = base.OrderView("o", packages=[_package("T1", [("L1", 1)], "DHL")])
    assert policy.missing_packages(order, sent, carrier=("UPS", "UPS Ground")) == [
        "tracking number T1 is held with another carrier (dhl)"
    ]
    # compared without case or spaces; code or name
    named = base.OrderView("o", packages=[_package("T1", [("L1", 1)], "Royal Mail")])
    assert not policy.missing_packages(named, sent, carrier=("RoyalMail", ""))


def test_trading_order_level_shipped_mark_is_verified():
    sent = _sent("T1", items=[("L1", 1)])
    order = base.OrderView("o", packages=[_package("T1", [("L1", 1)])])
    waiting = policy.after_verify(order, sent, 1, 0, POLICY, order_level=True)
    assert waiting.state == State.SUBMITTED
    marked = base.OrderView(
        "o", shipped_time="2026-12-01T10:00:00Z", packages=order.packages
    )
    assert (
        policy.after_verify(marked, sent, 1, 0, POLICY, order_level=True).state
        == State.SUCCESS
    )


def test_a_refusal_decided_by_what_the_marketplace_holds():
    refused = errors.PermanentError("PackageToUpdateNotFound")
    sent = _sent("1Z1", items=[("L1", 1)])
    # confirmed by hand first with the same number: Success, outside Odoo
    same = base.OrderView("o", packages=[_package("1z1", [("L1", 1)], "UPS")])
    decision = policy.after_refusal(refused, same, sent, 1, POLICY, ("UPS",))
    assert decision.state == State.SUCCESS and decision.outside
    # shipped elsewhere: a person decides, told what the marketplace holds
    other = base.OrderView("o", packages=[_package("9999", [("L1", 1)], "DHL")])
    decision = policy.after_refusal(refused, other, sent, 1, POLICY, ("UPS",))
    assert decision.state == State.DISAGREES
    assert "DHL 9999" in decision.error and "PackageToUpdateNotFound" in decision.error
    assert not decision.failed_attempt
    # a backorder of a partly shipped order: the marketplace holds the first
    # parcel's unit, not the two refused now; the refusal stands
    backorder = _sent("1Z2", items=[("L1", 2)])
    partial = base.OrderView("o", packages=[_package("9400", [("L1", 1)], "USPS")])
    invalid = errors.PermanentError("Invalid tracking number: 1Z2")
    decision = policy.after_refusal(invalid, partial, backorder, 1, POLICY, ("UPS",))
    assert decision.state == State.FAILED
    assert decision.error == "Invalid tracking number: 1Z2"
    more = base.OrderView("o", packages=[_package("9999", [("L1", 2)], "DHL")])
    decision = policy.after_refusal(invalid, more, backorder, 1, POLICY, ("UPS",))
    assert decision.state == State.DISAGREES
    # nothing shipped there: the refusal stands
    none = base.OrderView("o")
    assert policy.after_refusal(refused, none, sent, 1, POLICY).state == State.FAILED
    # the order could not be read: the refusal stands
    assert policy.after_refusal(refused, None, sent, 1, POLICY).state == State.FAILED


def test_interrupted_send_is_success_if_recorded_else_resent():
    assert (
        policy.after_interrupted_send(_order("X1"), _sent("X1"), 1, POLICY).state
        == State.SUCCESS
    )
    resend = policy.after_interrupted_send(_order(), _sent("X1"), 1, POLICY)
    assert resend.state == State.PENDING and "interrupted" in resend.error


def test_verify_checks_each_package_is_on_the_lines_it_holds():
    """A tracking number shown on the order but on another line (eBay
    order-level tracking, a fulfillment of other items) is not a success."""
    order = base.OrderView(
        order_ref="12-34567-89012",
        packages=[
            base.PackageView(tracking_number="T1", items=[("110-1", 1)]),
            base.PackageView(tracking_number="T2", items=[("110-1", 1)]),
        ],
    )
    right = policy.after_verify(order, _sent("T1", items=[("110-1", 1)]), 1, 10, POLICY)
    assert right.state == State.SUCCESS
    wrong = policy.after_verify(order, _sent("T2", items=[("220-1", 1)]), 1, 10, POLICY)
    assert wrong.state == State.SUBMITTED
    late = policy.after_verify(
        order, _sent("T2", items=[("220-1", 1)]), 1, POLICY.verify_window + 1, POLICY
    )
    assert late.state == State.PENDING
    assert "not on line(s) 220-1" in late.error
    # A marketplace that does not say which lines a package covers: the
    # tracking number is enough.
    assert (
        policy.after_verify(
            _order("T3"), _sent("T3", items=[("9", 1)]), 1, 0, POLICY
        ).state
        == State.SUCCESS
    )


def test_429_without_retry_after_waits_longer_on_each_repeat():
    error = errors.RateLimitedError("429")
    waits = [
        policy.after_send(error, 1, POLICY, throttled=n).retry_in for n in range(4)
    ]
    assert waits == [60, 120, 240, 480]
    assert policy.after_send(error, 1, POLICY, throttled=40).retry_in == (
        POLICY.max_delay
    )
    decision = policy.after_send(error, 1, POLICY)
    assert decision.throttled and decision.refund_attempt


@pytest.mark.parametrize(
    "error",
    [
        errors.AuthError("403 Unauthorized"),
        errors.TransientError("HTTP 503"),
        errors.TransientError("timeout", code="timeout"),
        errors.RateLimitedError("429"),
    ],
)
def test_readback_failures_have_a_budget_then_a_decided_state(error):
    last = POLICY.read_budget - 1  # failed reads before the last one allowed
    inside = policy.after_readback_failure(error, State.SUBMITTED, 1, last - 1, POLICY)
    assert inside.state == State.SUBMITTED and inside.read_failed
    assert inside.retry_in >= POLICY.verify_interval
    # Accepted by the marketplace: never Failed for lack of a read-back.
    past = policy.after_readback_failure(error, State.SUBMITTED, 1, last, POLICY)
    assert past.state == State.SUBMITTED and past.read_failed
    assert not past.notify
    assert "accepted the confirmation" in past.error
    assert past.retry_in >= POLICY.verify_interval
    interrupted = policy.after_readback_failure(error, State.SENDING, 1, last, POLICY)
    assert interrupted.state == State.PENDING and interrupted.failed_attempt
    out_of_attempts = policy.after_readback_failure(
        error, State.SENDING, 5, last, POLICY
    )
    assert out_of_attempts.state == State.FAILED
    # Every one of them is a read that failed, and a rejected token flags
    # the account whichever way the shipment goes.
    for decision in (inside, past, interrupted, out_of_attempts):
        assert decision.read_failed
        assert decision.flag_account == isinstance(error, errors.AuthError)


@pytest.mark.parametrize("state", [State.SUBMITTED, State.SENDING, State.PENDING])
def test_the_clients_own_pause_is_never_a_failure(state):
    """The client holding a call back for the rate limit (nothing sent)
    counts nowhere: same state, no failed read, no attempt, no throttle, the
    shipment's message kept; it goes when the limit allows."""
    paused = errors.RateLimitedError(
        "Holding back getOrder", code=errors.CLIENT_PACING, retry_after=2.04
    )
    if state == State.PENDING:
        decision = policy.after_send(paused, 1, POLICY)
    else:
        decision = policy.after_readback_failure(
            paused, state, 1, POLICY.read_budget - 1, POLICY
        )
    assert decision.state == state
    assert decision.held_back and decision.keep_error
    assert not (decision.read_failed or decision.failed_attempt or decision.throttled)
    assert decision.refund_attempt == (state == State.PENDING)
    assert decision.retry_in == 2.04


@pytest.mark.parametrize(
    ("retry_after", "wait"), [(None, 1), (0, 1), (0.25, 1), (1.5, 1.5), (30, 30)]
)
def test_the_clients_own_pause_lasts_what_it_says_and_at_least_a_second(
    retry_after, wait
):
    paused = errors.RateLimitedError(
        "Holding back", code=errors.CLIENT_PACING, retry_after=retry_after
    )
    assert policy.after_send(paused, 1, POLICY).retry_in == wait
    decision = policy.after_readback_failure(paused, State.SUBMITTED, 1, 0, POLICY)
    assert decision.retry_in == wait


def test_readback_permanent_error_fails_at_once():
    decision = policy.after_readback_failure(
        errors.PermanentError("order not found"), State.SUBMITTED, 1, 0, POLICY
    )
    assert decision.state == State.FAILED and decision.notify


def test_every_decision_is_an_allowed_transition():
    """The transition table covers every state the policy can decide from
    the state it is applied to."""
    assert policy.can_transition(None, State.PENDING)
    assert policy.can_transition(State.SENDING, State.SUBMITTED)
    assert policy.can_transition(State.SUCCESS, State.PENDING)
    assert not policy.can_transition(State.SUCCESS, State.FAILED)
    assert not policy.can_transition(State.MANUAL, State.PENDING)
    assert not policy.can_transition(None, State.SUCCESS)
    for error in (
        None,
        errors.TransientError("x"),
        errors.RateLimitedError("x"),
        errors.AuthError("x"),
        errors.PermanentError("x"),
    ):
        decision = policy.after_send(error, 5, POLICY)
        assert policy.can_transition(State.SENDING, decision.state)
    for state in (State.SUBMITTED, State.SENDING):
        for failures in (0, POLICY.read_budget):
            decision = policy.after_readback_failure(
                errors.TransientError("x"), state, 5, failures, POLICY
            )
            assert policy.can_transition(state, decision.state)
    assert [value for value, _label in policy.SELECTION] == [
        s.value for s in policy.State
    ]


def test_an_interrupted_claim_without_a_request_gets_its_attempt_back():
    order = base.OrderView(order_ref="1", status="Unshipped", packages=())
    packages = [("1Z1", [("11", 1)])]
    unsent = policy.after_interrupted_send(order, packages, 3, POLICY, requested=False)
    assert unsent.state == State.PENDING
    assert unsent.refund_attempt and not unsent.failed_attempt
    assert unsent.retry_in == 0
    # The shipment's message says why it goes again and that it cost nothing.
    assert unsent.error.startswith(
        "The previous send was interrupted before any request reached the marketplace"
    )
    assert "no attempt was used" in unsent.error
    sent = policy.after_interrupted_send(order, packages, 3, POLICY)
    assert sent.state == State.PENDING and sent.failed_attempt
    assert not sent.refund_attempt


@pytest.mark.parametrize(
    "error, lost",
    [
        (errors.TransientError("timed out", code="timeout"), True),
        (errors.TransientError("reset", code="connection"), True),
        (errors.TransientError("HTTP 503", http_status=503), True),
        (errors.TransientError("malformed answer", code="malformed"), False),
    ],
)
def test_a_send_whose_answer_was_lost_is_read_before_it_is_resent(error, lost):
    decision = policy.after_send(error, 1, POLICY)
    assert decision.state == State.PENDING and decision.unanswered is lost


def test_before_resend_the_marketplace_view_decides():
    sent = _sent("T1", items=[("L1", 1)])
    held = base.OrderView("o", packages=[_package("T1", [("L1", 1)])])
    decision = policy.before_resend(held, sent)
    assert decision.state == State.SUCCESS and decision.refund_attempt
    assert policy.before_resend(base.OrderView("o"), sent) is None  # send it
    gone = base.OrderView("o", cancelled=True, status="CANCELLED")
    assert policy.before_resend(gone, sent).state == State.DISAGREES


@pytest.mark.parametrize(
    "error, sent",
    [
        (None, True),  # accepted
        (errors.PermanentError("Tracking number is invalid"), True),  # refused
        (errors.TransientError("timed out", code="timeout"), True),  # answer lost
        (errors.TransientError("HTTP 503", http_status=503), True),
        (errors.TransientError("malformed", code="malformed", http_status=200), True),
        (errors.TransientError("no answer read", code="malformed"), False),
        (errors.RateLimitedError("429", retry_after=7), False),
        (errors.RateLimitedError("paced", code=errors.CLIENT_PACING), False),
        (errors.AuthError("invalid_grant"), False),
    ],
)
def test_tracking_sent_only_when_the_send_reached_the_marketplace(error, sent):
    """*Tracking Sent* is written only for a send the marketplace took in
    (accepted, refused) or may hold (answer lost); never for one held back,
    throttled or stopped by refused credentials."""
    assert policy.after_send(error, 1, POLICY).sent is sent


def test_tracking_sent_after_a_refusal_a_lost_answer_or_an_interrupted_send():
    packages = _sent("T1", items=[("L1", 1)])
    refused = errors.PermanentError("refused")
    held = base.OrderView("o", packages=[_package("T1", [("L1", 1)])])
    empty = base.OrderView("o")
    gone = base.OrderView("o", cancelled=True, status="CANCELLED")
    for order in (None, held, empty, gone):
        assert policy.after_refusal(refused, order, packages, 1, POLICY).sent
    assert policy.before_resend(held, packages).sent  # it holds what we sent
    assert not policy.before_resend(gone, packages).sent
    assert policy.after_interrupted_send(held, packages, 1, POLICY).sent
    assert policy.after_interrupted_send(empty, packages, 1, POLICY).sent
    unsent = policy.after_interrupted_send(empty, packages, 1, POLICY, requested=False)
    assert not unsent.sent
