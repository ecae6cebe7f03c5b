"""The numbers and behaviours README.rst documents for the retry policy and
the connection status, asserted as written there (not read back from the
code's own constants): changing one of them must turn these tests red.

README, *Retry timings*: base_delay 300 (x3 each time), max_delay 14400,
rate_limit_delay 60 (doubled on each 429 in a row), auth_retry_delay 1800,
verify_delay 60, verify_interval 120, verify_window 1800, +/-20 % jitter,
at most 5 counted attempts spanning about three hours.
README, *Connection status thresholds*: window 60 min, idle 10 min, yellow
error rate 0.10 (above), red error rate 0.50 (from), yellow throttle rate
0.25, slow latency 5000 ms (above), red after 3 consecutive failures; a 400
refusal is not a health problem.
"""

import dataclasses
import datetime

import pytest

from marketplaces import base, errors, health, policy
from marketplaces.policy import State

DEFAULT = policy.RetryPolicy()
MID = 0.5  # rng value for "no jitter"


def _no_jitter():
    return MID


# ---------------------------------------------------------------- retry timings


def test_documented_defaults():
    assert dataclasses.asdict(DEFAULT) == {
        "max_attempts": 5,
        "base_delay": 300,
        "factor": 3.0,
        "max_delay": 14400,
        "jitter": 0.2,
        "rate_limit_delay": 60,
        "auth_retry_delay": 1800,
        "verify_delay": 60,
        "verify_interval": 120,
        "verify_window": 1800,
    }


def test_waits_after_each_failed_attempt_are_300_then_x3():
    waits = [
        policy.after_send(errors.TransientError("HTTP 503"), n, DEFAULT).retry_in
        for n in (1, 2, 3, 4)
    ]
    # random jitter: each wait within +/-20 % of 300, 900, 2700, 8100 s
    for wait, nominal in zip(waits, (300, 900, 2700, 8100), strict=True):
        assert nominal * 0.8 <= wait <= nominal * 1.2
    assert [DEFAULT.backoff(n, rng=_no_jitter) for n in (1, 2, 3, 4, 5, 6)] == [
        300,
        900,
        2700,
        8100,
        14400,  # capped by max_delay (24300 otherwise)
        14400,
    ]


def test_jitter_is_plus_or_minus_20_percent():
    assert DEFAULT.backoff(1, rng=lambda: 0.0) == pytest.approx(240)
    assert DEFAULT.backoff(1, rng=lambda: 1.0) == pytest.approx(360)
    assert DEFAULT.backoff(3, rng=lambda: 0.0) == pytest.approx(2160)
    assert DEFAULT.backoff(3, rng=lambda: 1.0) == pytest.approx(3240)
    assert DEFAULT.backoff(9, rng=lambda: 1.0) == pytest.approx(14400 * 1.2)
    assert DEFAULT.backoff(9, rng=lambda: 0.25) == pytest.approx(14400 * 0.9)


def test_five_attempts_span_about_three_hours_then_failed():
    """Attempt 1 at t=0, then the four waits; the fifth failure is final."""
    span = sum(DEFAULT.backoff(n, rng=_no_jitter) for n in (1, 2, 3, 4))
    assert span == 12000  # 3 h 20 min
    assert 2.5 * 3600 <= span <= 3.5 * 3600
    shortest = sum(DEFAULT.backoff(n, rng=lambda: 0.0) for n in (1, 2, 3, 4))
    longest = sum(DEFAULT.backoff(n, rng=lambda: 1.0) for n in (1, 2, 3, 4))
    assert (shortest, longest) == (pytest.approx(9600), pytest.approx(14400))
    for attempts in (1, 2, 3, 4):
        decision = policy.after_send(
            errors.TransientError("HTTP 503"), attempts, DEFAULT
        )
        assert decision.state == State.PENDING
    last = policy.after_send(errors.TransientError("HTTP 503"), 5, DEFAULT)
    assert last == policy.Decision(
        State.FAILED,
        "HTTP 503 (gave up after 5 attempts)",
        failed_attempt=True,
        notify=True,
    )


def test_overridden_timings_are_used():
    """Each knob of the *Retry timings* table changes what it documents."""
    custom = policy.RetryPolicy(
        max_attempts=2,
        base_delay=10,
        max_delay=50,
        rate_limit_delay=7,
        auth_retry_delay=99,
        verify_delay=11,
        verify_interval=13,
        verify_window=100,
    )
    assert [custom.backoff(n, rng=_no_jitter) for n in (1, 2, 3)] == [10, 30, 50]
    assert policy.after_send(None, 1, custom).retry_in == 11
    limited = errors.RateLimitedError("429")
    assert [
        policy.after_send(limited, 1, custom, throttled=n).retry_in for n in range(4)
    ] == [7, 14, 28, 50]
    assert policy.after_send(errors.AuthError("x"), 1, custom).retry_in == 99
    assert policy.after_send(errors.TransientError("x"), 2, custom).state == (
        State.FAILED
    )
    order = base.OrderView(order_ref="1")
    sent = [("T1", [])]
    assert policy.after_verify(order, sent, 1, 99, custom).retry_in == 13
    assert policy.after_verify(order, sent, 1, 100, custom).state == State.PENDING


def test_429_without_retry_after_doubles_rate_limit_delay_on_each_repeat():
    error = errors.RateLimitedError("Too Many Requests")
    waits = [
        policy.after_send(error, 1, DEFAULT, throttled=n).retry_in for n in range(9)
    ]
    assert waits == [60, 120, 240, 480, 960, 1920, 3840, 7680, 14400]
    # doubling stops after ten repeats, whatever max_delay allows
    roomy = policy.RetryPolicy(max_delay=10**9)
    assert policy.after_send(error, 1, roomy, throttled=10).retry_in == 60 * 1024
    assert policy.after_send(error, 1, roomy, throttled=11).retry_in == 60 * 1024
    assert policy.after_send(error, 1, roomy, throttled=40).retry_in == 60 * 1024
    decision = policy.after_send(error, 3, DEFAULT, throttled=1)
    assert decision == policy.Decision(
        State.PENDING,
        "Too Many Requests",
        refund_attempt=True,
        retry_in=120,
        throttled=True,
    )
    told = errors.RateLimitedError("Too Many Requests", retry_after=5)
    assert policy.after_send(told, 1, DEFAULT, throttled=3).retry_in == 5


def test_auth_failure_waits_1800_s_and_flags_the_account_without_counting():
    decision = policy.after_send(errors.AuthError("invalid_grant"), 5, DEFAULT)
    assert decision == policy.Decision(
        State.PENDING,
        "invalid_grant",
        refund_attempt=True,
        retry_in=1800,
        flag_account=True,
    )


def test_refusal_fails_at_once_with_the_marketplace_message():
    refusal = errors.PermanentError("Order is cancelled", code="InvalidInput")
    assert policy.after_send(refusal, 1, DEFAULT) == policy.Decision(
        State.FAILED,
        "Order is cancelled (InvalidInput)",
        failed_attempt=True,
        notify=True,
        sent=True,
    )


def test_transient_failure_keeps_the_error_and_counts():
    decision = policy.after_send(errors.TransientError("HTTP 503"), 1, DEFAULT)
    assert decision == policy.Decision(
        State.PENDING, "HTTP 503", failed_attempt=True, retry_in=decision.retry_in
    )


# ----------------------------------------------------------- read back (verify)


def _order(*packages, cancelled=False, status="Unshipped"):
    return base.OrderView(
        order_ref="111-1111111-1111111",
        status=status,
        cancelled=cancelled,
        packages=[base.PackageView(tracking_number=t, items=i) for t, i in packages],
    )


def test_first_read_back_after_60_s_then_every_120_s_for_1800_s():
    assert policy.after_send(None, 1, DEFAULT) == policy.Decision(
        State.SUBMITTED, retry_in=60, sent=True
    )
    sent = [("1Z1", [("L1", 1)])]
    waiting = policy.after_verify(_order(), sent, 1, 1799, DEFAULT)
    assert waiting == policy.Decision(State.SUBMITTED, retry_in=120, keep_error=True)
    late = policy.after_verify(_order(), sent, 2, 1800, DEFAULT)
    assert late.state == State.PENDING and late.failed_attempt
    assert late.error == (
        "The marketplace accepted the confirmation but tracking number 1Z1 is "
        "not on the order 30 minutes later; sending it again."
    )
    assert DEFAULT.backoff(2, rng=lambda: 0.0) <= late.retry_in
    assert late.retry_in <= DEFAULT.backoff(2, rng=lambda: 1.0)
    last = policy.after_verify(_order(), sent, 5, 3599, DEFAULT)
    assert last.state == State.FAILED and last.notify
    assert "59 minutes later" in last.error and "gave up after 5 attempts" in last.error


def test_missing_lines_are_all_named():
    order = _order(("T1", [("A", 1)]), ("T2", [("B", 1)]))
    sent = [("T1", [("A", 1), ("C", 1), ("D", 1)]), ("T9", []), ("T2", [("B", 1)])]
    assert policy.missing_packages(order, sent) == [
        "tracking number T1 is not on line(s) C, D",
        "tracking number T9 is not on the order",
    ]
    late = policy.after_verify(order, sent, 1, 1800, DEFAULT)
    assert late.error.startswith(
        "The marketplace accepted the confirmation but tracking number T1 is not "
        "on line(s) C, D; tracking number T9 is not on the order 30 minutes later"
    )


def test_cancelled_order_differs_at_once():
    decision = policy.after_verify(
        _order(cancelled=True, status="Canceled"), [("1Z1", [])], 1, 0, DEFAULT
    )
    assert decision == policy.Decision(
        State.DISAGREES,
        "The order was cancelled on the marketplace after it was shipped "
        "(status Canceled): intercept the parcel or arrange its return, then "
        "use Mark as handled.",
        notify=True,
    )


def test_interrupted_send_is_reconciled_or_resent():
    sent = [("1Z1", [])]
    assert policy.after_interrupted_send(
        _order(("1Z1", [])), sent, 1, DEFAULT
    ) == policy.Decision(State.SUCCESS, sent=True)
    resend = policy.after_interrupted_send(_order(), sent, 1, DEFAULT)
    assert resend == policy.Decision(
        State.PENDING,
        "The previous send was interrupted before the marketplace answered and "
        "the order does not show the tracking number; sending it again.",
        failed_attempt=True,
        retry_in=resend.retry_in,
        sent=True,
    )
    assert 240 <= resend.retry_in <= 360


@pytest.mark.parametrize("state", [State.SUBMITTED, State.SENDING])
def test_read_back_failures_retry_every_120_s_for_15_failed_reads(state):
    """The verify window (1800 s at one read every 120 s) is 15 read-backs
    that reached the marketplace and failed, not wall-clock time."""
    assert DEFAULT.read_budget == 15
    error = errors.TransientError("HTTP 503")
    inside = policy.after_readback_failure(error, state, 1, 13, DEFAULT)
    assert inside == policy.Decision(
        state,
        "Could not read the order back yet: HTTP 503",
        retry_in=120,
        read_failed=True,
    )
    told = errors.RateLimitedError("429", retry_after=600)
    assert policy.after_readback_failure(told, state, 1, 0, DEFAULT).retry_in == 600
    short = errors.RateLimitedError("429", retry_after=5)
    assert policy.after_readback_failure(short, state, 1, 0, DEFAULT).retry_in == 120
    auth = policy.after_readback_failure(errors.AuthError("403"), state, 1, 0, DEFAULT)
    assert auth.flag_account and auth.state == state
    assert not policy.after_readback_failure(error, state, 1, 0, DEFAULT).flag_account


def test_read_back_budget_spent_on_a_submitted_shipment_keeps_it_submitted():
    """Accepted by the marketplace (204, 201, Ack Success): never Failed for
    lack of a read-back; it stays Submitted, read again, and says so."""
    decision = policy.after_readback_failure(
        errors.AuthError("HTTP 403"), State.SUBMITTED, 1, 14, DEFAULT
    )
    assert decision == policy.Decision(
        State.SUBMITTED,
        "The marketplace accepted the confirmation; the order could not be read "
        "back to verify it (15 tries, last: HTTP 403). It is not sent again and "
        "is read again later; check the order on the marketplace if this lasts.",
        retry_in=120,
        flag_account=True,
        read_failed=True,
    )
    unflagged = policy.after_readback_failure(
        errors.TransientError("HTTP 503"), State.SUBMITTED, 1, 29, DEFAULT
    )
    assert "(30 tries, last: HTTP 503)" in unflagged.error
    assert unflagged.state == State.SUBMITTED
    assert not unflagged.flag_account


def test_read_back_budget_spent_on_an_interrupted_send_resends_it():
    decision = policy.after_readback_failure(
        errors.AuthError("HTTP 403"), State.SENDING, 2, 14, DEFAULT
    )
    assert decision.state == State.PENDING
    assert decision.flag_account and decision.failed_attempt
    assert decision.error == (
        "The previous send was interrupted and the order could not be read back "
        "(15 tries, last: HTTP 403); sending it again."
    )
    unflagged = policy.after_readback_failure(
        errors.TransientError("x"), State.SENDING, 2, 14, DEFAULT
    )
    assert not unflagged.flag_account


def test_read_back_refusal_fails_at_once():
    decision = policy.after_readback_failure(
        errors.PermanentError("order not found", code="404"),
        State.SUBMITTED,
        1,
        0,
        DEFAULT,
    )
    assert decision == policy.Decision(
        State.FAILED,
        "The marketplace could not show the order: order not found (404)",
        notify=True,
    )


def test_decision_round_trips_through_a_dict():
    decision = policy.Decision(
        State.PENDING, "x", refund_attempt=True, retry_in=3.5, throttled=True
    )
    values = decision.as_dict()
    assert values["retry_in"] == 3.5 and values["throttled"] is True
    assert policy.Decision.from_dict({**values, "unknown": 1}) == decision
    assert policy.Decision.from_dict({"state": State.FAILED}) == policy.Decision(
        State.FAILED
    )


# ------------------------------------------------------------ connection status

NOW = datetime.datetime(2026, 11, 26, 12, 0, 0)


def _stats(calls=100, **values):
    defaults = {
        "calls": calls,
        "last_call": NOW - datetime.timedelta(minutes=1),
        "last_outcome": "success",
        "last_http_status": 200,
        "recent_outcomes": ("success",) * 3,
    }
    defaults.update(values)
    return health.ApiStats(**defaults)


DEFAULT_THRESHOLDS = health.Thresholds()


def _state(stats, thresholds=DEFAULT_THRESHOLDS):
    return health.api_health(stats, NOW, thresholds)[0]


def test_documented_thresholds():
    assert dataclasses.asdict(health.Thresholds()) == {
        "window_minutes": 60,
        "idle_minutes": 10,
        "yellow_error_rate": 0.10,
        "red_error_rate": 0.50,
        "yellow_throttle_rate": 0.25,
        "slow_latency_ms": 5000,
        "red_consecutive_failures": 3,
    }


def test_yellow_above_10_percent_errors():
    assert _state(_stats(errors=10)) == health.GREEN
    state, message = health.api_health(_stats(errors=11), NOW)
    assert state == health.YELLOW
    assert message == (
        "Higher error rate than normal: 11 of 100 calls failed in the last 60 minutes."
    )


def test_red_from_50_percent_errors():
    assert _state(_stats(errors=49)) == health.YELLOW
    state, message = health.api_health(
        _stats(errors=50, last_error_message="HTTP 503"), NOW
    )
    assert state == health.RED
    assert message == (
        "Extreme error rate: 50 of 100 calls failed in the last 60 minutes (HTTP 503)."
    )


@pytest.mark.parametrize("failure", ["transient", "auth"])
def test_red_after_3_consecutive_failures(failure):
    two = _stats(errors=2, recent_outcomes=("transient", failure, "success"))
    assert _state(two) == health.GREEN
    three = _stats(
        errors=3,
        last_outcome="transient",
        last_http_status=503,
        last_error_message="HTTP 503",
        recent_outcomes=("transient", failure, "transient", "success"),
    )
    state, message = health.api_health(three, NOW)
    assert state == health.RED
    assert message == (
        "Unavailable: the last 3 calls failed (HTTP 503). "
        "Write-backs are retried automatically."
    )


def test_a_400_refusal_is_not_a_health_problem():
    refused = _stats(
        last_outcome="permanent",
        last_http_status=400,
        last_error_message="InvalidInput",
        recent_outcomes=("permanent",) * 5,
    )
    assert health.api_health(refused, NOW) == (
        health.GREEN,
        "Connected and operating normally.",
    )
    for outcome in ("permanent", "rate_limited", "success", ""):
        assert not health._failed(outcome)
    for outcome in ("transient", "auth"):
        assert health._failed(outcome)


def test_throttled_above_25_percent():
    assert _state(_stats(throttled=25)) == health.GREEN
    state, message = health.api_health(_stats(throttled=26), NOW)
    assert state == health.YELLOW
    assert message == (
        "Throttled: 26 of 100 calls were rate limited; "
        "write-backs wait and are not counted as attempts."
    )
    assert _state(_stats(calls=0, throttled=0)) == health.GREEN


def test_slow_above_5000_ms():
    assert _state(_stats(avg_latency_ms=5000)) == health.GREEN
    state, message = health.api_health(_stats(avg_latency_ms=5001), NOW)
    assert state == health.YELLOW
    assert message == (
        "Degraded performance: answers take 5.0 s on average (over 5 s)."
    )
    assert health.api_health(_stats(avg_latency_ms=12345), NOW)[1].startswith(
        "Degraded performance: answers take 12.3 s"
    )


def test_none_after_10_idle_minutes():
    edge = _stats(last_call=NOW - datetime.timedelta(minutes=10))
    assert _state(edge) == health.GREEN
    idle = _stats(last_call=NOW - datetime.timedelta(minutes=10, seconds=1))
    assert health.api_health(idle, NOW) == (
        health.NONE,
        "Status unknown: no call to this API in the last 10 minutes.",
    )


def test_authentication_failure_is_red_with_its_reason():
    flagged = _stats(auth_problem="invalid_grant", last_error_message="other")
    assert health.api_health(flagged, NOW) == (
        health.RED,
        (
            "Authentication failing: invalid_grant. Re-authorize the account (new "
            "refresh token or credentials in the marketplace account)."
        ),
    )
    last_auth = _stats(last_outcome="auth", last_error_message="HTTP 401")
    state, message = health.api_health(last_auth, NOW)
    assert state == health.RED and message.startswith(
        "Authentication failing: HTTP 401."
    )


def test_no_call_counted_is_not_an_error_rate():
    assert _state(_stats(calls=0, errors=0)) == health.GREEN


def test_every_threshold_can_be_overridden():
    strict = health.Thresholds(
        window_minutes=15,
        idle_minutes=2,
        yellow_error_rate=0.01,
        red_error_rate=0.05,
        yellow_throttle_rate=0.02,
        slow_latency_ms=100,
        red_consecutive_failures=2,
    )
    assert _state(_stats(last_call=NOW - datetime.timedelta(minutes=3)), strict) == (
        health.NONE
    )
    assert health.api_health(_stats(errors=2), NOW, strict) == (
        health.YELLOW,
        "Higher error rate than normal: 2 of 100 calls failed in the last 15 minutes.",
    )
    assert _state(_stats(errors=5), strict) == health.RED
    assert _state(_stats(throttled=3), strict) == health.YELLOW
    assert _state(_stats(avg_latency_ms=101), strict) == health.YELLOW
    two = _stats(errors=2, recent_outcomes=("transient", "transient", "success"))
    assert _state(two, strict) == health.RED


def test_every_package_is_checked_after_one_without_lines():
    """A package the marketplace shows without lines does not end the check:
    the next package still has to be there."""
    order = _order(("T1", []), ("T2", [("A", 1)]))
    sent = [("T1", [("A", 1)]), ("T2", [("B", 1)]), ("T3", [])]
    assert policy.missing_packages(order, sent) == [
        "tracking number T2 is not on line(s) B",
        "tracking number T3 is not on the order",
    ]


def test_latency_message_in_seconds():
    huge = health.Thresholds(slow_latency_ms=1_000_000)
    state, message = health.api_health(_stats(avg_latency_ms=2_000_000), NOW, huge)
    assert (state, message) == (
        health.YELLOW,
        "Degraded performance: answers take 2000.0 s on average (over 1000 s).",
    )


def test_a_missing_package_does_not_end_the_check():
    order = _order(("T2", [("A", 1)]))
    sent = [("T9", []), ("T2", [("B", 1)])]
    assert policy.missing_packages(order, sent) == [
        "tracking number T9 is not on the order",
        "tracking number T2 is not on line(s) B",
    ]
