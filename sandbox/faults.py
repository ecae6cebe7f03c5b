"""Injected faults: the ways a marketplace misbehaves that tests must survive."""

import dataclasses
import threading

AMAZON_OPERATIONS = (
    "amazon.token",
    "amazon.confirmShipment",
    "amazon.getOrder",
    "amazon.getCatalogItem",
)
TRADING_OPERATIONS = ("ebay.CompleteSale", "ebay.GetOrders")
EBAY_REST_OPERATIONS = (
    "ebay.getOrder",
    "ebay.getOrders",
    "ebay.createShippingFulfillment",
    "ebay.getShippingFulfillments",
    "ebay.getShippingFulfillment",
)
OPERATIONS = (
    AMAZON_OPERATIONS + ("ebay.token",) + TRADING_OPERATIONS + EBAY_REST_OPERATIONS
)


@dataclasses.dataclass
class Fault:
    """One injected misbehaviour for ``operation``.

    At most one of the "answer" kinds applies (``status``, ``malformed``,
    ``swallow``, ``trading_error``, ``rest_error``, ``drop``); ``delay`` may be
    combined with any of them, or used alone (sleep, then answer normally).
    ``times`` = how many matching requests it affects; None = until reset.
    """

    operation: str
    status: int | None = None
    body: object = None  # dict/list -> JSON, str/bytes -> raw, None -> default
    headers: dict | None = None
    times: int | None = 1
    order_ref: str | None = None
    delay: float = 0.0
    drop: bool = False
    malformed: bool = False
    swallow: bool = False
    trading_error: dict | None = None
    rest_error: dict | None = None
    # handled and recorded as usual, then the connection is cut before the
    # answer: a marketplace that recorded the request whose answer was lost
    answer_lost: bool = False

    def __post_init__(self):
        if self.operation not in OPERATIONS:
            raise ValueError(
                f"unknown operation {self.operation!r}; one of {', '.join(OPERATIONS)}"
            )
        kinds = [
            name
            for name in (
                "drop",
                "malformed",
                "swallow",
                "trading_error",
                "rest_error",
                "answer_lost",
            )
            if getattr(self, name)
        ] + (["status"] if self.status is not None else [])
        if len(kinds) > 1:
            raise ValueError(f"a fault has one kind, got {', '.join(kinds)}")
        if self.trading_error and self.operation not in TRADING_OPERATIONS:
            raise ValueError("trading_error applies to Trading API operations only")
        if self.rest_error and self.operation not in EBAY_REST_OPERATIONS:
            raise ValueError("rest_error applies to eBay REST operations only")
        if self.times is not None and self.times < 1:
            raise ValueError("times must be positive, or None for 'until reset'")
        if self.delay < 0:
            raise ValueError("delay must not be negative")

    @property
    def kind(self):
        """A short label for the request log."""
        for name in (
            "drop",
            "malformed",
            "swallow",
            "trading_error",
            "rest_error",
            "answer_lost",
        ):
            if getattr(self, name):
                return name
        if self.status is not None:
            return "status"
        return "delay"

    def matches(self, operation, order_refs):
        if operation != self.operation:
            return False
        return self.order_ref is None or self.order_ref in order_refs


class FaultBook:
    """The faults waiting for requests, consumed first-injected first."""

    def __init__(self):
        self._faults = []
        self._lock = threading.Lock()

    def add(self, fault):
        with self._lock:
            self._faults.append(fault)
        return fault

    def take(self, operation, order_refs):
        """The first fault matching this request, with one use consumed."""
        with self._lock:
            for fault in self._faults:
                if fault.matches(operation, order_refs):
                    if fault.times is not None:
                        fault.times -= 1
                        if fault.times == 0:
                            self._faults.remove(fault)
                    return fault
        return None

    def clear(self):
        with self._lock:
            self._faults.clear()

    def pending(self):
        with self._lock:
            return [dataclasses.asdict(fault) for fault in self._faults]
