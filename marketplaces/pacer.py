"""Client-side pacing: token buckets per seller and operation that mirror
the marketplaces' usage plans, so that a client waits briefly instead of
earning a 429. Plain Python, no Odoo import."""

import math
import threading
import time

from .errors import CLIENT_PACING, RateLimitedError

DEFAULT_MAX_WAIT = 2.0  # seconds the pacer may sleep before giving up
# The longest wait the pacer ever asks for, whatever a stored bucket or an
# announced rate says (a bad state once asked for a 59-day sleep).
MAX_PAUSE = 300.0


class Pacer:
    """Token buckets, one per (base URL, seller authorization, operation),
    mirroring the marketplace's own usage plans so that a client waits
    briefly instead of earning a 429 (Amazon "Usage Plans and Rate Limits":
    a bucket refilled at ``rate`` per second up to ``burst``; limits apply
    per application and selling-partner pair).

    * :meth:`acquire` either takes a token, sleeping at most ``max_wait``
      seconds for it, or raises :class:`~.errors.RateLimitedError` at once,
      without consuming anything, when the wait would be longer.
    * :meth:`delay` says how long :meth:`acquire` would sleep, consuming
      nothing: a caller serving many sellers sends for whichever is ready
      instead of sleeping on one seller's bucket.
    * :meth:`observe_rate` adopts the rate the marketplace announces for a
      key (Amazon's ``x-amzn-RateLimit-Limit``) in place of the documented
      default, faster or slower.
    * :meth:`throttled` drains a key's bucket after the marketplace answered
      429 anyway (another process on the same seller, a smaller dynamic
      usage plan), so the next request waits for a fresh token.

    The marketplace starts its bucket when our first request *arrives*, a
    network delay after we took our token, and every later request arrives
    with its own delay. Two margins keep the local bucket behind the remote
    one by more than any plausible difference of those delays, at almost no
    cost in throughput:

    * the local bucket holds ``rate * LAG`` tokens fewer than ``burst`` (at
      most ``burst - 1`` fewer): a steady lead of :data:`LAG` seconds that
      does not shrink over a long run;
    * it refills at :data:`SAFETY` times the rate: a lead that grows with
      every request, for a marketplace whose clock runs a little slow.

    Over 120 ``confirmShipment`` (rate 2, burst 10) this costs about 3 % of
    the documented rate (``scripts/benchmark_pacing.py`` measures it).
    """

    #: refill at this share of the rate
    SAFETY = 0.98
    #: seconds by which the local bucket stays behind the marketplace's
    LAG = 0.5

    def __init__(self, clock=time.monotonic, sleep=time.sleep):
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._buckets = {}  # key -> (tokens, time of last update)
        self._rates = {}  # key -> rate the marketplace announced

    # -- the plan of one key ----------------------------------------------

    def rate(self, key, rate):
        """The rate paced for ``key``: the announced one, else ``rate``."""
        with self._lock:
            return self._rates.get(key, rate)

    def _plan(self, key, rate, burst):
        """``(refill per second, capacity)`` of ``key``'s local bucket, or
        ``None`` when the operation has no usage plan."""
        rate = self._rates.get(key, rate)
        if not rate:
            return None
        burst = max(1.0, float(burst or 1))
        capacity = burst - min(burst - 1.0, rate * self.LAG)
        return rate * self.SAFETY, capacity

    def _tokens(self, key, plan, now):
        refill, capacity = plan
        tokens, updated = self._buckets.get(key, (capacity, now))
        return min(capacity, tokens + max(0.0, now - updated) * refill)

    def _wait(self, key, plan, now, count=1):
        """Seconds until ``count`` tokens (at most the capacity) are there."""
        if plan is None:
            return 0.0
        refill, capacity = plan
        need = min(float(count), capacity)
        tokens = self._tokens(key, plan, now)
        return 0.0 if tokens >= need else min(MAX_PAUSE, (need - tokens) / refill)

    # -- public API ---------------------------------------------------------

    def delay(self, key, rate, burst, count=1):
        """Seconds until :meth:`acquire` could take ``count`` tokens in a
        row without sleeping (0.0: now). Consumes nothing, never sleeps."""
        with self._lock:
            return self._wait(key, self._plan(key, rate, burst), self._clock(), count)

    def capacity(self, key, rate, burst, seconds):
        """How many tokens of ``key``'s bucket :meth:`acquire` could take
        within ``seconds`` from now (the tokens there, and the refill);
        None when the operation has no usage plan. Consumes nothing."""
        with self._lock:
            plan = self._plan(key, rate, burst)
            if plan is None:
                return None
            tokens = self._tokens(key, plan, self._clock())
            return max(0, math.floor(tokens + max(0.0, seconds) * plan[0]))

    def acquire(self, key, rate, burst, max_wait):
        """Take one token of ``key``'s bucket (``rate`` requests per second,
        ``burst``; nothing to take when ``rate`` is None or 0), sleeping for
        it at most ``max_wait`` seconds."""
        with self._lock:
            now = self._clock()
            plan = self._plan(key, rate, burst)
            wait = self._wait(key, plan, now)
            if wait > max_wait:  # only with a plan: no plan, no wait
                raise RateLimitedError(
                    f"Holding back {key[-1]}: its rate limit "
                    f"({plan[0] / self.SAFETY:g}/s, burst {burst}) needs a "
                    f"{wait:.1f} s pause",
                    code=CLIENT_PACING,
                    retry_after=wait,
                )
            if plan is not None:
                # Reserve the token now (the bucket may go negative) so that
                # concurrent callers queue up behind this one.
                self._buckets[key] = (self._tokens(key, plan, now) - 1, now)
        if wait:
            self._sleep(wait)

    def observe_rate(self, key, rate, default_rate, burst):
        """The marketplace announced ``rate`` requests per second for
        ``key`` (``x-amzn-RateLimit-Limit``): pace at that rate from now on
        instead of ``default_rate``. Ignored unless a finite number of at
        least one request per :data:`MAX_PAUSE`. The tokens already in the
        bucket stay."""
        if not _is_number(rate) or not 1 / MAX_PAUSE <= rate < float("inf"):
            return
        with self._lock:
            if self._rates.get(key, default_rate) == rate:
                return
            now = self._clock()
            old = self._plan(key, default_rate, burst)
            if old is not None and key in self._buckets:
                self._buckets[key] = (self._tokens(key, old, now), now)
            self._rates[key] = rate
            new = self._plan(key, default_rate, burst)
            if key in self._buckets:  # never more than the new capacity
                tokens, _updated = self._buckets[key]
                self._buckets[key] = (min(tokens, new[1]), now)

    def throttled(self, key, rate, burst):
        """The marketplace answered 429 (or its equivalent) for ``key``:
        empty the local bucket so that the next request waits for one token
        and the :data:`LAG` again (about a second at 2/s). A ``Retry-After``
        is not kept here: the error carries it and the engine defers that
        shipment by it (:mod:`.policy`)."""
        with self._lock:
            plan = self._plan(key, rate, burst)
            if plan is None:
                return
            now = self._clock()
            lead = self._rates.get(key, rate) * self.LAG
            self._buckets[key] = (min(self._tokens(key, plan, now), -lead), now)

    def export(self, prefix):
        """``{operation: [tokens, epoch seconds]}`` of the buckets whose key
        starts with ``prefix`` (the seller key) that this
        process used, as they were when last touched: to hand them to the
        next process pacing the same seller (:meth:`restore`)."""
        with self._lock:
            now, wall = self._clock(), time.time()
            return {
                key[-1]: [tokens, wall - max(0.0, now - updated)]
                for key, (tokens, updated) in self._buckets.items()
                if key[:-1] == prefix
            }

    def restore(self, prefix, state):
        """Take over buckets another process exported (:meth:`export`), each
        one unless this process touched its own bucket more recently. Bad
        values are ignored."""
        with self._lock:
            now, wall = self._clock(), time.time()
            for operation, value in (state or {}).items():
                try:
                    tokens, at = (float(v) for v in value)
                except (TypeError, ValueError):
                    continue
                if not (_finite(tokens) and _finite(at)):
                    continue
                # A bucket owes at most what MAX_PAUSE refills; never more
                # than a full one.
                tokens = max(-MAX_PAUSE, tokens)
                key = (*prefix, operation)
                updated = now - max(0.0, wall - at)
                mine = self._buckets.get(key)
                if mine is None or mine[1] < updated:
                    self._buckets[key] = (tokens, updated)

    def reset(self):
        with self._lock:
            self._buckets.clear()
            self._rates.clear()


def _finite(value):
    return math.isfinite(value)


PACER = Pacer()


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)
