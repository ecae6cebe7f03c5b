"""The write-back retry policy: what each outcome does to a shipment."""

import pytest

from marketplaces import base, errors, policy

POLICY = policy.RetryPolicy()


def _order(*tracking, cancelled=False, status="UNSHIPPED"):
    return base.OrderView(
        order_ref="111-1111111-1111111",
        status=status,
        cancelled=cancelled,
        packages=[base.PackageView(tracking_number=t) for t in tracking],
    )


def test_accepted_is_submitted_and_checked_soon():
    decision = policy.after_send(None, 1, POLICY)
    assert decision.state == policy.SUBMITTED
    assert decision.retry_in == POLICY.verify_delay
    assert not decision.refund_attempt and not decision.failed_attempt


@pytest.mark.parametrize("attempts", [1, 2, 3, 4])
def test_transient_retries_while_attempts_remain(attempts):
    decision = policy.after_send(errors.TransientError("HTTP 503"), attempts, POLICY)
    assert decision.state == policy.PENDING
    assert decision.failed_attempt and not decision.refund_attempt
    low = POLICY.base_delay * POLICY.factor ** (attempts - 1) * (1 - POLICY.jitter)
    assert decision.retry_in >= min(low, POLICY.max_delay * (1 - POLICY.jitter))


def test_fifth_transient_failure_fails_and_notifies():
    decision = policy.after_send(errors.TransientError("HTTP 503"), 5, POLICY)
    assert decision.state == policy.FAILED
    assert decision.notify
    assert "5 attempts" in decision.error


def test_rate_limit_and_auth_give_the_attempt_back():
    limited = policy.after_send(
        errors.RateLimitedError("429", retry_after=7), 1, POLICY
    )
    assert (limited.state, limited.refund_attempt, limited.retry_in) == (
        policy.PENDING,
        True,
        7,
    )
    unknown = policy.after_send(errors.RateLimitedError("429"), 1, POLICY)
    assert unknown.retry_in == POLICY.rate_limit_delay
    auth = policy.after_send(errors.AuthError("invalid_grant"), 5, POLICY)
    assert auth.state == policy.PENDING, "an auth failure never fails the shipment"
    assert auth.refund_attempt and auth.flag_account and not auth.failed_attempt


def test_permanent_fails_at_once_with_the_marketplace_message():
    error = errors.PermanentError("Tracking number is invalid", code="InvalidInput")
    decision = policy.after_send(error, 1, POLICY)
    assert decision.state == policy.FAILED
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
    assert policy.after_verify(order, ["1z999"], 1, 10, POLICY).state == policy.SUCCESS
    partial = policy.after_verify(order, ["1Z999", "1Z998"], 1, 10, POLICY)
    assert partial.state == policy.SUBMITTED


def test_verify_waits_inside_the_window_then_resends():
    order = _order()
    waiting = policy.after_verify(order, ["1Z999"], 1, POLICY.verify_window - 1, POLICY)
    assert (waiting.state, waiting.retry_in) == (
        policy.SUBMITTED,
        POLICY.verify_interval,
    )
    late = policy.after_verify(order, ["1Z999"], 1, POLICY.verify_window + 1, POLICY)
    assert late.state == policy.PENDING
    assert late.failed_attempt and not late.refund_attempt
    assert "accepted" in late.error and "1Z999" in late.error
    last = policy.after_verify(order, ["1Z999"], 5, POLICY.verify_window + 1, POLICY)
    assert last.state == policy.FAILED


def test_verify_cancelled_order_fails():
    decision = policy.after_verify(
        _order(cancelled=True, status="CANCELLED"), ["X1"], 1, 0, POLICY
    )
    assert decision.state == policy.FAILED and "cancelled" in decision.error


def test_interrupted_send_is_success_if_recorded_else_resent():
    assert (
        policy.after_interrupted_send(_order("X1"), ["X1"], 1, POLICY).state
        == policy.SUCCESS
    )
    resend = policy.after_interrupted_send(_order(), ["X1"], 1, POLICY)
    assert resend.state == policy.PENDING and "interrupted" in resend.error
