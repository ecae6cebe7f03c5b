"""The write-back retry policy: what an outcome does to a shipment.

This is the only place that decides states, attempt counting and the time of
the next attempt. The ORM layer (``stock.picking``) applies the
:class:`Decision` it gets; clients only raise the classified errors of
:mod:`.errors`.

Attempts are counted when a send is *claimed* (so a worker that dies
mid-call has still used its attempt); outcomes that must not burn an attempt
(rate limiting, authentication) give it back with ``refund_attempt``.
"""

import dataclasses
import random

from . import errors

PENDING = "pending"
SENDING = "sending"
SUBMITTED = "submitted"
SUCCESS = "success"
FAILED = "failed"
MANUAL = "manual"


@dataclasses.dataclass(frozen=True)
class RetryPolicy:
    """Timing knobs, in seconds. The defaults ride out a marketplace outage of
    a few hours (5 attempts spread over ~3 h) without hammering it, and give
    a confirmation 30 minutes to show up on the order before it is resent."""

    max_attempts: int = 5
    base_delay: int = 300  # wait after the first counted failure
    factor: float = 3.0  # exponential growth per further failure
    max_delay: int = 4 * 3600  # cap of one wait
    jitter: float = 0.2  # +/- 20 % so a backlog does not retry in lockstep
    rate_limit_delay: int = 60  # after a 429 without Retry-After
    auth_retry_delay: int = 1800  # a flagged account is tried again after
    verify_delay: int = 60  # first read-back after a send was accepted
    verify_interval: int = 120  # further read-backs
    verify_window: int = 1800  # accepted but still not on the order -> resend

    def backoff(self, attempts, rng=random.random):
        """Seconds to wait after ``attempts`` counted attempts (>= 1)."""
        delay = min(
            self.max_delay, self.base_delay * self.factor ** max(attempts - 1, 0)
        )
        return delay * (1 - self.jitter + 2 * self.jitter * rng())


@dataclasses.dataclass(frozen=True)
class Decision:
    """What to write on the shipment after an outcome."""

    state: str
    error: str = ""
    refund_attempt: bool = False  # give the attempt claimed for the send back
    failed_attempt: bool = False  # the attempt did not get the shipment recorded
    retry_in: float | None = None  # seconds until the next attempt / check
    flag_account: bool = False  # credentials need attention
    notify: bool = False  # tell the responsible user (activity)


def after_send(error, attempts, policy):
    """Decision after a send that was claimed as attempt number ``attempts``.

    ``error`` is None when the marketplace accepted the confirmation.
    """
    if error is None:
        return Decision(SUBMITTED, retry_in=policy.verify_delay)
    if isinstance(error, errors.RateLimitedError):
        wait = error.retry_after if error.retry_after else policy.rate_limit_delay
        return Decision(PENDING, str(error), refund_attempt=True, retry_in=wait)
    if isinstance(error, errors.AuthError):
        return Decision(
            PENDING,
            str(error),
            refund_attempt=True,
            retry_in=policy.auth_retry_delay,
            flag_account=True,
        )
    if isinstance(error, errors.PermanentError):
        return Decision(FAILED, str(error), failed_attempt=True, notify=True)
    # Transient, and anything unexpected: retry while attempts remain.
    return failed_attempt(str(error), attempts, policy)


def failed_attempt(message, attempts, policy):
    """Decision for a counted attempt that did not reach the marketplace's
    records: retry with backoff, or give up after ``max_attempts``."""
    if attempts >= policy.max_attempts:
        return Decision(
            FAILED,
            f"{message} (gave up after {attempts} attempts)",
            failed_attempt=True,
            notify=True,
        )
    return Decision(
        PENDING, message, failed_attempt=True, retry_in=policy.backoff(attempts)
    )


def after_verify(order, tracking_numbers, attempts, submitted_age, policy):
    """Decision after reading the order back while the shipment is
    *submitted*. ``order`` is a :class:`~.base.OrderView`; ``submitted_age``
    is the number of seconds since the marketplace accepted the send."""
    missing = [n for n in tracking_numbers if not order.has_tracking(n)]
    if not missing:
        return Decision(SUCCESS)
    if order.cancelled:
        return Decision(
            FAILED,
            f"The order is cancelled on the marketplace (status {order.status}).",
            failed_attempt=True,
            notify=True,
        )
    if submitted_age < policy.verify_window:
        return Decision(SUBMITTED, retry_in=policy.verify_interval)
    message = (
        "The marketplace accepted the confirmation but does not show tracking "
        f"number {', '.join(missing)} on the order "
        f"{int(submitted_age // 60)} minutes later; sending it again."
    )
    # The attempt was counted when it was sent: it is not counted twice.
    return failed_attempt(message, attempts, policy)


def after_interrupted_send(order, tracking_numbers, attempts, policy):
    """Decision for a send whose worker died mid-call (lease expired), once
    the order was read back: recorded means done; not recorded means the
    attempt is lost and the shipment is sent again (never twice in parallel,
    never lost)."""
    missing = [n for n in tracking_numbers if not order.has_tracking(n)]
    if not missing:
        return Decision(SUCCESS)
    message = (
        "The previous send was interrupted before the marketplace answered and "
        "the order does not show the tracking number; sending it again."
    )
    return failed_attempt(message, attempts, policy)
