"""Status rules: Green / Yellow / Red / None from journal statistics."""

import datetime

from marketplaces import health

NOW = datetime.datetime(2026, 11, 26, 12, 0, 0)
RECENT = NOW - datetime.timedelta(minutes=2)


def stats(**kw):
    values = {
        "calls": 10,
        "last_call": RECENT,
        "last_outcome": "success",
        "last_http_status": 200,
    }
    values.update(kw)
    return health.ApiStats(**values)


def test_green():
    assert health.api_health(stats(avg_latency_ms=300), NOW) == (
        health.GREEN,
        "Connected and operating normally.",
    )


def test_none_when_idle_for_ten_minutes():
    idle = stats(last_call=NOW - datetime.timedelta(minutes=10, seconds=1))
    state, message = health.api_health(idle, NOW)
    assert state == health.NONE and "last 10 minutes" in message
    assert health.api_health(stats(last_call=None), NOW)[0] == health.NONE
    edge = stats(last_call=NOW - datetime.timedelta(minutes=10))
    assert health.api_health(edge, NOW)[0] == health.GREEN


def test_none_on_network_error():
    down = stats(
        last_outcome="transient", last_http_status=0, last_error_message="timed out"
    )
    state, message = health.api_health(down, NOW)
    assert state == health.NONE
    assert message == "Error reading API status: timed out"


def test_yellow_above_error_threshold_only():
    assert health.api_health(stats(errors=1), NOW)[0] == health.GREEN  # 10 % is normal
    state, message = health.api_health(stats(errors=2), NOW)
    assert state == health.YELLOW and "2 of 10 calls failed" in message


def test_yellow_on_latency_or_throttling():
    assert health.api_health(stats(avg_latency_ms=6000), NOW)[0] == health.YELLOW
    state, message = health.api_health(stats(throttled=3), NOW)
    assert state == health.YELLOW and "Throttled" in message


def test_red_on_extreme_error_rate_or_outage():
    assert health.api_health(stats(errors=5), NOW)[0] == health.RED
    outage = stats(
        last_outcome="transient",
        last_http_status=503,
        recent_outcomes=("transient", "transient", "transient"),
    )
    state, message = health.api_health(outage, NOW)
    assert state == health.RED and message.startswith("Unavailable")


def test_red_on_authentication_says_what_to_do():
    state, message = health.api_health(stats(auth_problem="invalid_grant"), NOW)
    assert state == health.RED and "Re-authorize" in message
    flagged_but_idle = stats(auth_problem="invalid_grant", last_call=None)
    assert health.api_health(flagged_but_idle, NOW)[0] == health.RED
    # The client's reason already says what to do: said once.
    client_reason = (
        "eBay refused the stored authorization (invalid_grant: the provided "
        "authorization grant code is invalid or was issued to another client). "
        "Re-authorize the eBay account."
    )
    state, message = health.api_health(stats(auth_problem=client_reason), NOW)
    assert state == health.RED
    assert message == f"Authentication failing: {client_reason}"
    assert message.count("Re-authorize") == 1


def test_thresholds_configurable():
    lenient = health.Thresholds(yellow_error_rate=0.5, idle_minutes=30)
    assert health.api_health(stats(errors=2), NOW, lenient)[0] == health.GREEN
    old = stats(last_call=NOW - datetime.timedelta(minutes=20))
    assert health.api_health(old, NOW, lenient)[0] == health.GREEN
