"""The write-back retry policy: what an outcome does to a shipment.

This is the only place that decides states, attempt counting and the time of
the next attempt, and :data:`TRANSITIONS` the only list of the state changes
allowed. The ORM layer applies the :class:`Decision` it gets through the
write-back object's named transitions (``models/writeback.py``, which checks
each against :data:`TRANSITIONS`); clients only raise the classified errors
of :mod:`.errors`.

Attempts are counted when a send is *claimed* (so a worker that dies
mid-call has still used its attempt); outcomes that must not burn an attempt
(rate limiting, authentication) give it back with ``refund_attempt``.
"""

import dataclasses
import enum
import math
import random

from . import errors
from .base import normalize_tracking


class State(enum.StrEnum):
    """The write-back states of a delivery: the one vocabulary the engine,
    the models and the tests use (the selection field is built from it)."""

    PENDING = "pending"  # waiting to be sent (or for something to be fixed)
    SENDING = "sending"  # claimed by a worker, call in flight (leased)
    SUBMITTED = "submitted"  # accepted by the marketplace, not yet seen on the order
    SUCCESS = "success"  # the marketplace shows exactly what shipped
    FAILED = "failed"  # given up: a person must act
    MANUAL = "manual"  # a person confirmed it on the marketplace
    # The marketplace's own view disagrees with what shipped (the order was
    # cancelled there after it shipped, or it shows the order shipped under
    # another tracking number): a person decides; nothing is sent meanwhile.
    DISAGREES = "disagrees"
    CANCELLED = "cancelled"  # cancelled on the marketplace, handled by a person

    @property
    def label(self):
        return LABELS[self]


LABELS = {
    State.PENDING: "Pending",
    State.SENDING: "Sending",
    State.SUBMITTED: "Submitted",
    State.SUCCESS: "Success",
    State.FAILED: "Failed",
    State.MANUAL: "Manually confirmed",
    State.DISAGREES: "Differs on marketplace",
    State.CANCELLED: "Cancelled on marketplace",
}
# (value, label) pairs for an Odoo Selection field, in lifecycle order.
SELECTION = [(state.value, LABELS[state]) for state in State]

# Every state change the engine and the users may make. ``None`` is a
# delivery that was never queued. A change not listed here is a bug: the
# engine refuses it (see :func:`can_transition`).
TRANSITIONS = {
    None: {State.PENDING},
    State.PENDING: {State.PENDING, State.SENDING, State.MANUAL},
    State.SENDING: {
        State.SENDING,  # read-back failed: reconcile later
        State.PENDING,  # retry later (backoff, rate limit, credentials)
        State.SUBMITTED,  # accepted
        State.SUCCESS,  # reconciled, or refused as shipped: the order shows it
        State.FAILED,  # refused, or out of attempts
        State.MANUAL,
        State.DISAGREES,  # refused: cancelled, or shipped under another number
    },
    State.SUBMITTED: {
        State.PENDING,  # not on the order after the verify window: resend
        State.SUBMITTED,  # still waiting to show up
        State.SUCCESS,
        State.FAILED,
        State.MANUAL,
        State.DISAGREES,  # cancelled on the marketplace meanwhile
    },
    State.SUCCESS: {State.PENDING},  # the tracking number really changed
    # a failed write-back of a cancelled order (before 19.0.1.5.0) is handled
    State.FAILED: {State.PENDING, State.MANUAL, State.CANCELLED},
    State.MANUAL: set(),
    State.DISAGREES: {
        State.CANCELLED,  # Mark as handled (intercepted, returned)
        State.MANUAL,  # Keep the marketplace's
        State.PENDING,  # Send ours too (where the API adds a package)
    },
    State.CANCELLED: set(),
}
# States whose delivery is still the engine's business.
OPEN_STATES = frozenset({State.PENDING, State.SENDING, State.SUBMITTED})


def can_transition(old, new):
    """True when a delivery may go from state ``old`` (None: never queued)
    to state ``new``."""
    old = State(old) if old else None
    return State(new) in TRANSITIONS[old]


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

    @property
    def read_budget(self):
        """How many read-backs that reached the marketplace and failed a
        shipment gets before it is decided (the verify window, in reads)."""
        return max(1, math.ceil(self.verify_window / max(self.verify_interval, 1)))

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
    throttled: bool = False  # a 429: the account waits for the rest of the run
    # The client held the call back for the rate limit (nothing was sent):
    # not a failure, counted nowhere; the account waits for the rest of the run.
    held_back: bool = False
    read_failed: bool = False  # a read-back reached the marketplace and failed
    keep_error: bool = False  # keep the message the shipment already shows
    # refused as already shipped, and the marketplace shows exactly what
    # shipped: it was confirmed outside Odoo (the chatter says so)
    outside: bool = False
    # the send went out but its answer was lost (timeout, cut connection,
    # 5xx): the marketplace may hold it, so the order is read before any
    # resend
    unanswered: bool = False
    # the confirmation reached the marketplace, which took it in (accepted
    # or refused it) or may hold it (answer lost): *Tracking Sent* shows
    # what it carried; nothing sent (held back, 429, credentials refused,
    # a check before sending) leaves it as it was
    sent: bool = False

    def as_dict(self):
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values):
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in (values or {}).items() if k in names})


def throttle_delay(error, throttled, policy):
    """Seconds to wait after a 429: the marketplace's Retry-After when it
    gave one, else ``rate_limit_delay`` doubled for each 429 in a row that
    this shipment already had (``throttled``), capped at ``max_delay``."""
    if error.retry_after:
        return error.retry_after
    return min(policy.max_delay, policy.rate_limit_delay * 2 ** min(throttled, 10))


def after_send(error, attempts, policy, throttled=0):
    """Decision after a send that was claimed as attempt number ``attempts``.

    ``error`` is None when the marketplace accepted the confirmation;
    ``throttled`` counts the 429s in a row this shipment already met.
    """
    if error is None:
        return Decision(State.SUBMITTED, retry_in=policy.verify_delay, sent=True)
    if errors.is_held_back(error):
        return held_back(error, State.PENDING)
    if isinstance(error, errors.RateLimitedError):
        return Decision(
            State.PENDING,
            str(error),
            refund_attempt=True,
            retry_in=throttle_delay(error, throttled, policy),
            throttled=True,
        )
    if isinstance(error, errors.AuthError):
        return Decision(
            State.PENDING,
            str(error),
            refund_attempt=True,
            retry_in=policy.auth_retry_delay,
            flag_account=True,
        )
    if isinstance(error, errors.PermanentError):
        return Decision(
            State.FAILED, str(error), failed_attempt=True, notify=True, sent=True
        )
    # Transient, and anything unexpected: retry while attempts remain.
    decision = failed_attempt(str(error), attempts, policy)
    if unanswered(error):
        decision = dataclasses.replace(decision, unanswered=True, sent=True)
    elif getattr(error, "http_status", None):
        # answered without recording it (e.g. a malformed answer)
        decision = dataclasses.replace(decision, sent=True)
    return decision


def unanswered(error):
    """The request may have reached the marketplace's records although no
    answer came back: a timeout, a cut connection, a server error."""
    return isinstance(error, errors.TransientError) and (
        error.code in ("timeout", "connection") or (error.http_status or 0) >= 500
    )


def before_resend(order, packages, carrier=()):
    """Decision, or None to send, for a shipment whose last send went
    unanswered, once the order was read back: the marketplace holds
    exactly what shipped (it recorded the lost send): *Success* without
    sending again, its attempt given back; cancelled there:
    :func:`cancelled`; otherwise it is sent."""
    if order.cancelled:
        return dataclasses.replace(cancelled(order), refund_attempt=True)
    if not missing_packages(order, packages, carrier):
        return Decision(State.SUCCESS, refund_attempt=True, sent=True)
    return None


def failed_attempt(message, attempts, policy):
    """Decision for a counted attempt that did not reach the marketplace's
    records: retry with backoff, or give up after ``max_attempts``."""
    if attempts >= policy.max_attempts:
        return Decision(
            State.FAILED,
            f"{message} (gave up after {attempts} attempts)",
            failed_attempt=True,
            notify=True,
        )
    return Decision(
        State.PENDING, message, failed_attempt=True, retry_in=policy.backoff(attempts)
    )


def missing_packages(order, packages, carrier=()):
    """What of ``packages`` the marketplace's ``order`` (an
    :class:`~.base.OrderView`) does not show: a list of human-readable
    reasons, empty when every package is there with its tracking number on
    the lines it holds, in the quantities sent, by the carrier sent.

    ``packages`` is ``[(tracking_number, [(item_ref, quantity), ...]), ...]``
    as sent. Where the marketplace lists a package's lines (Amazon package
    items, eBay fulfillment line items and per-transaction tracking), each
    line sent in a package must be among them, with the quantity sent where
    the marketplace reports one: a tracking number that landed on the wrong
    line, or on fewer units, is not a success. ``carrier``: the names the
    carrier was sent under (code, name); where the marketplace reports a
    package's carrier, it must be one of them.
    """
    shown = {}
    carriers = {}
    for package in order.packages:
        key = normalize_tracking(package.tracking_number)
        if key:
            lines = shown.setdefault(key, {})
            for ref, qty in package.items or []:
                if isinstance(qty, int) and not isinstance(qty, bool):
                    lines[str(ref)] = (lines.get(str(ref)) or 0) + qty
                else:
                    lines.setdefault(str(ref), None)
            if package.carrier:
                carriers.setdefault(key, set()).add(_carrier_key(package.carrier))
    sent_carriers = {_carrier_key(name) for name in carrier if name}
    reasons = []
    for tracking, items in packages:
        key = normalize_tracking(tracking)
        if key not in shown:
            reasons.append(f"tracking number {tracking} is not on the order")
            continue
        held = carriers.get(key)
        if sent_carriers and held and not held & sent_carriers:
            reasons.append(
                f"tracking number {tracking} is held with another carrier "
                f"({', '.join(sorted(held))})"
            )
        lines = shown[key]
        if not lines:
            continue  # the marketplace does not say which lines it covers
        absent = [str(ref) for ref, _qty in items if str(ref) not in lines]
        if absent:
            reasons.append(
                f"tracking number {tracking} is not on line(s) {', '.join(absent)}"
            )
        fewer = [
            f"{lines[str(ref)]} of {qty} x {ref}"
            for ref, qty in items
            if str(ref) in lines
            and lines[str(ref)] is not None
            and qty is not None
            and lines[str(ref)] < qty
        ]
        if fewer:
            reasons.append(f"tracking number {tracking} holds only {', '.join(fewer)}")
    return reasons


def _carrier_key(name):
    """A carrier's name compared without case, spaces or punctuation
    ("Royal Mail" == "RoyalMail")."""
    return "".join(ch for ch in str(name).lower() if ch.isalnum())


def cancelled(order):
    """Decision for an order the marketplace shows cancelled after the
    delivery shipped: never a success; a person intercepts the parcel or
    arranges its return, then marks it handled."""
    return Decision(
        State.DISAGREES,
        "The order was cancelled on the marketplace after it was shipped "
        f"(status {order.status_label or order.status}): intercept the parcel "
        "or arrange its return, then use Mark as handled.",
        notify=True,
    )


def held_elsewhere(order):
    """The tracking numbers and carriers ``order`` shows, for a person."""
    return ", ".join(
        f"{p.carrier or '?'} {p.tracking_number}"
        for p in order.packages
        if p.tracking_number
    )


def after_refusal(
    error, order, packages, attempts, policy, carrier=(), marketplace_to_learn=""
):
    """Decision after the marketplace refused a confirmation (``error``, a
    permanent refusal) and the order was read back (``order``; None when it
    could not be). The marketplace's own view decides, with no attempt spent
    beyond the one refused:

    * cancelled there: :func:`cancelled`;
    * it shows exactly what shipped (confirmed by hand first, e.g. in Seller
      Central, with the same tracking number): *Success*, ``outside``;
    * it shows the order shipped under other tracking numbers that cover
      the lines sent (shipped elsewhere): *Differs on marketplace*, naming
      what it holds, for a person to keep it or add ours;
    * the order was placed on another marketplace of the region than the
      confirmation named, which it now learns (``marketplace_to_learn``:
      the one the confirmation named, when the order's is not stored yet):
      sent again at once, naming the order's, the attempt given back;
    * otherwise the refusal stands (:func:`after_send`).

    The confirmation reached the marketplace in every case (``sent``).
    """
    decision = _after_refusal(
        error, order, packages, attempts, policy, carrier, marketplace_to_learn
    )
    return dataclasses.replace(decision, sent=True)


def _after_refusal(
    error, order, packages, attempts, policy, carrier, marketplace_to_learn
):
    if order is None:
        return after_send(error, attempts, policy)
    if order.cancelled:
        return cancelled(order)
    if (
        marketplace_to_learn
        and order.marketplace_id
        and order.marketplace_id != marketplace_to_learn
    ):
        return Decision(
            State.PENDING,
            f"The order was placed on marketplace {order.marketplace_id}, not "
            f"{marketplace_to_learn}: it is sent again naming its own "
            "(no attempt was used).",
            refund_attempt=True,
            retry_in=0,
        )
    if not missing_packages(order, packages, carrier):
        return Decision(
            State.SUCCESS,
            f"The marketplace already showed this shipment ({error}).",
            outside=True,
        )
    # units of each line under the marketplace's packages (None: not said)
    held = {}
    for p in order.packages:
        if not p.tracking_number:
            continue
        for ref, qty in p.items or []:
            known = isinstance(qty, int) and not isinstance(qty, bool)
            if known and held.get(str(ref), 0) is not None:
                held[str(ref)] = held.get(str(ref), 0) + qty
            else:
                held[str(ref)] = None
    sent_lines = {str(ref) for _tracking, items in packages for ref, _qty in items}
    # A backorder of a partly shipped order: the marketplace holds the first
    # parcel's units, not the ones refused now; the refusal stands.
    fewer = any(
        held.get(str(ref)) is not None and isinstance(qty, int) and held[str(ref)] < qty
        for _tracking, items in packages
        for ref, qty in items
    )
    if order.tracking_numbers and (not held or sent_lines <= set(held)) and not fewer:
        return Decision(
            State.DISAGREES,
            "The marketplace shows this order already shipped under "
            f"{held_elsewhere(order)}, not under what this delivery shipped. "
            f"It refused ours: {error}",
            notify=True,
        )
    return after_send(error, attempts, policy)


def after_verify(
    order, packages, attempts, submitted_age, policy, carrier=(), order_level=False
):
    """Decision after reading the order back while the shipment is
    *submitted*. ``order`` is a :class:`~.base.OrderView`; ``packages`` what
    was sent and ``carrier`` under which names (see :func:`missing_packages`);
    ``order_level``: the send also marked the whole order shipped (eBay
    Trading), which the order must show; ``submitted_age`` the number of
    seconds since the marketplace accepted the send. An order cancelled on
    the marketplace is never a success."""
    if order.cancelled:
        return cancelled(order)
    missing = missing_packages(order, packages, carrier)
    if order_level and not order.shipped_time:
        missing.append("the order is not marked shipped")
    if not missing:
        return Decision(State.SUCCESS)
    if submitted_age < policy.verify_window:
        return Decision(
            State.SUBMITTED, retry_in=policy.verify_interval, keep_error=True
        )
    message = (
        "The marketplace accepted the confirmation but "
        f"{'; '.join(missing)} {int(submitted_age // 60)} minutes later; "
        "sending it again."
    )
    # The attempt was counted when it was sent: it is not counted twice.
    return failed_attempt(message, attempts, policy)


def after_interrupted_send(order, packages, attempts, policy, requested=True):
    """Decision for a send whose worker died mid-call (lease expired), once
    the order was read back: recorded means done; not recorded means the
    shipment is sent again (never twice in parallel, never lost), its
    attempt lost, unless the claim never produced a request (``requested``
    False: the journal shows none), which gives the attempt back."""
    if order.cancelled:
        return cancelled(order)
    if not missing_packages(order, packages):
        return Decision(State.SUCCESS, sent=True)
    if not requested:
        return Decision(
            State.PENDING,
            "The previous send was interrupted before any request reached the "
            "marketplace; sending it now (no attempt was used).",
            refund_attempt=True,
            retry_in=0,
        )
    message = (
        "The previous send was interrupted before the marketplace answered and "
        "the order does not show the tracking number; sending it again."
    )
    return dataclasses.replace(failed_attempt(message, attempts, policy), sent=True)


def held_back(error, state):
    """Decision when the client held the call back to keep to the
    marketplace's rate limit: the same state again when the limit allows
    (its own pause), the attempt given back, the shipment's message kept."""
    return Decision(
        state,
        refund_attempt=state == State.PENDING,
        retry_in=max(error.retry_after or 0, 1),
        keep_error=True,
        held_back=True,
    )


def after_readback_failure(error, state, attempts, read_failures, policy):
    """Decision when the order could not be read back for a shipment in
    ``state`` (*submitted*, or *sending* with an expired lease), which had
    ``read_failures`` read-backs fail before this one.

    Every path ends: a permanent error (the marketplace cannot show the
    order) fails at once; the client holding the call back for the rate
    limit is no failure and counts nowhere; any other error (403 after a
    token refresh, 5xx, timeouts, 429) counts one failed read and is tried
    again every ``verify_interval`` until :attr:`RetryPolicy.read_budget`
    reads have failed. Then a submitted shipment, which the marketplace
    accepted, stays *submitted*, read again every ``verify_interval``, with
    a message saying so (never *Failed* for lack of a read-back), and an
    interrupted send is sent again (confirmations are idempotent) or failed
    when its attempts are used up.
    """
    if errors.is_held_back(error):
        return held_back(error, state)
    if isinstance(error, errors.PermanentError):
        return Decision(
            State.FAILED,
            f"The marketplace could not show the order: {error}",
            notify=True,
        )
    flag = isinstance(error, errors.AuthError)
    failures = read_failures + 1
    wait = policy.verify_interval
    if isinstance(error, errors.RateLimitedError) and error.retry_after:
        wait = max(wait, error.retry_after)
    if failures < policy.read_budget:
        return Decision(
            state,
            f"Could not read the order back yet: {error}",
            retry_in=wait,
            flag_account=flag,
            read_failed=True,
        )
    if state == State.SUBMITTED:
        return Decision(
            State.SUBMITTED,
            "The marketplace accepted the confirmation; the order could not be "
            f"read back to verify it ({failures} tries, last: {error}). It is "
            "not sent again and is read again later; check the order on the "
            "marketplace if this lasts.",
            retry_in=wait,
            flag_account=flag,
            read_failed=True,
        )
    decision = failed_attempt(
        "The previous send was interrupted and the order could not be read "
        f"back ({failures} tries, last: {error}); sending it again.",
        attempts,
        policy,
    )
    return dataclasses.replace(decision, flag_account=flag, read_failed=True)
