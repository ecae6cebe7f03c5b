"""Connection health of one marketplace API, from the journal of its calls.

Plain rules, no Odoo: the ORM layer aggregates the journal into
:class:`ApiStats` and stores what :func:`api_health` answers.

* green  -- connected and operating normally;
* yellow -- error rate above a threshold, throttled, or clearly slower;
* red    -- unavailable, authentication failing, or an extreme error rate;
* none   -- unknown: no call in the last ``idle_minutes`` (the status cron
  probes idle APIs first), or the probe could not reach the marketplace
  ("Error reading API status").
"""

import dataclasses
import datetime

GREEN, YELLOW, RED, NONE = "green", "yellow", "red", "none"
ERROR_READING = "Error reading API status"


@dataclasses.dataclass(frozen=True)
class Thresholds:
    """Defaults, each overridable by a system parameter (see README)."""

    window_minutes: int = 60  # calls and errors are counted over this window
    idle_minutes: int = 10  # no call for this long: status unknown
    yellow_error_rate: float = 0.10  # share of failed calls
    red_error_rate: float = 0.50
    yellow_throttle_rate: float = 0.25  # share of calls answered 429
    slow_latency_ms: int = 5000  # average answer time considered degraded
    red_consecutive_failures: int = 3  # the last N calls all failed: down


@dataclasses.dataclass
class ApiStats:
    """What the journal says about one API of one account."""

    calls: int = 0  # in the window
    errors: int = 0  # transient + authentication failures in the window
    throttled: int = 0  # rate-limited answers in the window
    avg_latency_ms: float = 0.0
    last_call: datetime.datetime | None = None
    last_outcome: str = ""  # outcome of the most recent call
    last_http_status: int = 0
    last_error_message: str = ""
    recent_outcomes: tuple = ()  # newest first
    auth_problem: str = ""  # the account is flagged with this reason


def _failed(outcome):
    return outcome in ("transient", "auth")


def api_health(stats, now, thresholds=Thresholds()):
    """``(state, message)`` for one API. ``now`` is naive UTC."""
    if stats.auth_problem or stats.last_outcome == "auth":
        reason = (stats.auth_problem or stats.last_error_message).rstrip(". ")
        if "re-authorize" in reason.lower():  # the reason says what to do
            return RED, f"Authentication failing: {reason}."
        return RED, (
            f"Authentication failing: {reason}. Re-authorize the account (new "
            "refresh token or credentials in the marketplace account)."
        )
    if stats.last_call is None or now - stats.last_call > datetime.timedelta(
        minutes=thresholds.idle_minutes
    ):
        return NONE, (
            f"Status unknown: no call to this API in the last "
            f"{thresholds.idle_minutes} minutes."
        )
    if stats.last_outcome == "transient" and not stats.last_http_status:
        # The last call (often the status probe) never got an answer.
        return NONE, f"{ERROR_READING}: {stats.last_error_message}"
    recent = stats.recent_outcomes[: thresholds.red_consecutive_failures]
    if len(recent) == thresholds.red_consecutive_failures and all(map(_failed, recent)):
        return RED, (
            f"Unavailable: the last {len(recent)} calls failed "
            f"({stats.last_error_message}). Write-backs are retried automatically."
        )
    rate = stats.errors / stats.calls if stats.calls else 0.0
    if rate >= thresholds.red_error_rate:
        return RED, (
            f"Extreme error rate: {stats.errors} of {stats.calls} calls failed in the "
            f"last {thresholds.window_minutes} minutes ({stats.last_error_message})."
        )
    if rate > thresholds.yellow_error_rate:
        return YELLOW, (
            f"Higher error rate than normal: {stats.errors} of {stats.calls} calls "
            f"failed in the last {thresholds.window_minutes} minutes."
        )
    if stats.calls and stats.throttled / stats.calls > thresholds.yellow_throttle_rate:
        return YELLOW, (
            f"Throttled: {stats.throttled} of {stats.calls} calls were rate limited; "
            "write-backs wait and are not counted as attempts."
        )
    if stats.avg_latency_ms > thresholds.slow_latency_ms:
        return YELLOW, (
            f"Degraded performance: answers take {stats.avg_latency_ms / 1000:.1f} s "
            f"on average (over {thresholds.slow_latency_ms / 1000:.0f} s)."
        )
    return GREEN, "Connected and operating normally."
