"""Token-bucket rate limits, one bucket per operation and client identity.

Amazon's usage plans work this way: "Tokens are automatically added to the
bucket using a set rate-per-second until the maximum size of the bucket is
reached ... Throttling occurs when a request is made for which no token is
available" (SP-API "Usage Plans and Rate Limits"); limits apply per
application and selling-partner pair, which is what the identity stands for.
"""

import dataclasses


@dataclasses.dataclass(frozen=True)
class Limit:
    rate: float  # tokens added per second
    burst: int  # bucket size

    @property
    def header_value(self):
        """The ``x-amzn-RateLimit-Limit`` text, e.g. "2.0" or "0.5"."""
        return str(float(self.rate))


# Default usage plans, from each operation's description in the models
# (ordersV0.json confirmShipment, orders_2026-01-01.json getOrder and
# searchOrders, catalogItems_2022-04-01.json getCatalogItem).
DEFAULT_LIMITS = {
    "amazon.confirmShipment": Limit(2.0, 10),
    "amazon.getOrder": Limit(0.5, 30),
    "amazon.searchOrders": Limit(0.0056, 20),
    "amazon.getCatalogItem": Limit(2.0, 2),
}


def merge_limits(overrides):
    """The default limits updated with ``overrides``.

    ``overrides`` maps an operation to ``(rate, burst)``, a :class:`Limit`, or
    None to switch throttling off for that operation.
    """
    limits = dict(DEFAULT_LIMITS)
    for operation, value in (overrides or {}).items():
        if value is None:
            limits.pop(operation, None)
        elif isinstance(value, Limit):
            limits[operation] = value
        else:
            rate, burst = value
            limits[operation] = Limit(float(rate), int(burst))
    return limits


class _Bucket:
    def __init__(self, limit, now):
        self.limit = limit
        self.tokens = float(limit.burst)  # a new client starts with a full bucket
        self.updated = now

    def take(self, now):
        elapsed = max(0.0, now - self.updated)
        self.tokens = min(self.limit.burst, self.tokens + elapsed * self.limit.rate)
        self.updated = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


class RateLimiter:
    """Decides whether a request may pass; not thread-safe on its own (the
    server calls it under its state lock)."""

    def __init__(self, limits, clock):
        self.limits = limits
        self._clock = clock
        self._buckets = {}

    def limit_for(self, operation):
        return self.limits.get(operation)

    def allow(self, operation, identity):
        """Take one token for ``identity`` on ``operation``; False = throttle."""
        limit = self.limits.get(operation)
        if limit is None:
            return True
        key = (operation, identity)
        now = self._clock.now()
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(limit, now)
        return bucket.take(now)

    def reset(self):
        self._buckets.clear()
