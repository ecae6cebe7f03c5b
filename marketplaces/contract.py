"""The contract every marketplace client keeps, whatever its marketplace.

The engine (``models/writeback_*.py``) only talks to clients through this
interface, so adding a marketplace means one new client module that
implements it, one entry in the platform registry (:mod:`.platforms`) and
its views, never a change of the state machine (README, *Adding a
marketplace*). Every method raises only :mod:`.errors` classes (already
classified as transient, rate-limited, authentication or permanent) and
reports each HTTP exchange once to ``on_call``.
"""

import datetime
from collections.abc import Iterable
from typing import Protocol, runtime_checkable

from .base import CallObserver, ChangedOrders, ConfirmResult, OrderView, Shipment


@runtime_checkable
class MarketplaceClient(Protocol):
    """One marketplace account, on the API it writes back with."""

    #: receives one :class:`~.base.CallRecord` per HTTP exchange
    on_call: CallObserver | None
    #: the most order refs one batch request of :meth:`read_orders` covers
    #: (Amazon searchOrders: 100 per page; eBay Trading GetOrders: 100
    #: OrderIDs; eBay REST getOrders: 50 orderIds; 1: no batch read). The
    #: engine passes at most this many refs per call.
    read_batch_size: int

    def confirm_shipment(self, shipment: Shipment) -> ConfirmResult:
        """Send ``shipment``; return once the marketplace accepted all of it
        (it still has to be verified by :meth:`read_order`)."""

    def read_order(self, order_ref: str) -> OrderView:
        """The marketplace's own view of the order: status, packages with
        their tracking numbers and lines, and the order's lines."""

    def read_orders(
        self,
        order_refs: Iterable[str],
        since: datetime.datetime | None = None,
        backlog: int = 0,
        coming: int = 0,
    ) -> dict[str, OrderView]:
        """The marketplace's view of several orders at once, keyed by order
        ref; every value is what :meth:`read_order` would return. It may
        hold orders not asked for that the same answer carried (Amazon's
        search pages): the engine keeps them for the rest of its run.

        ``since``: an aware UTC datetime no later than the earliest
        confirmation among the orders (Amazon can only search by time; the
        eBay clients ignore it). ``backlog``: how many of this seller's
        orders wait to be read (submitted and not carried by an earlier
        batch read, these included; the engine's count): a client that
        picks between single and batch reads goes by it, not by the size of
        one batch. ``coming``: how many of the seller's confirmations are
        still to be sent: a batch read that costs a scarce request is spent
        on fewer orders than it can carry only for the last ones.

        A ref absent from the answer was not settled by the batch read
        (unknown to the batch API, not found within the pages read, or the
        client chose single reads): the engine reads it with
        :meth:`read_order`. The client picks by volume and
        never waits on its own pacing: with the batch API's bucket empty it
        returns what it has (possibly ``{}``) without raising. Marketplace
        errors raise :mod:`.errors` classes; every HTTP exchange is
        journaled once (batch calls with an empty ``order_ref``)."""

    def changed_orders(
        self,
        since: datetime.datetime,
        until: datetime.datetime | None = None,
        resume: str = "",
    ) -> ChangedOrders:
        """The orders the marketplace changed within ``[since, until]``
        (aware UTC; ``until`` None: as late as the API allows now), for
        reconciliation: shipped, cancelled, refunded, tracking changed.
        Each order as :meth:`read_order` would return it.

        Batch reads only (Amazon ``searchOrders`` by ``lastUpdatedAfter`` /
        ``lastUpdatedBefore``, eBay Trading ``GetOrders`` by
        ``ModTimeFrom`` / ``ModTimeTo``, eBay REST ``getOrders`` with
        ``filter=lastmodifieddate:[…]``), page after page, from ``resume``
        (what an earlier call for the same window returned; "" = its first
        page). It never waits on its own pacing and reads a bounded number
        of pages a call: with the API's bucket empty or the pages used up it
        returns what it read, ``complete`` false and the ``resume`` to go
        on from; the caller keeps ``since``/``until`` for that call. Errors
        raise :mod:`.errors` classes, every exchange journaled once."""

    def read_delay(self) -> float:
        """Seconds before :meth:`read_order` could go without the client
        pausing for the seller's rate limit (0.0: now). Consumes nothing."""

    def reads_within(self, seconds: float) -> int | None:
        """How many orders could be read back within ``seconds`` at the
        rates the marketplace allows this seller, batch and single reads
        together (None: no per-second limit). Consumes nothing and never
        raises, like :meth:`sends_within`."""

    def probe(self, api: str | None = None) -> None:
        """The cheapest call that proves the connection works, journaled
        under ``api`` (one of the :mod:`.base` API keys of this client)."""

    def request_count(self, shipment: Shipment) -> int:
        """How many HTTP requests :meth:`confirm_shipment` makes for
        ``shipment`` (token exchanges not counted): the engine sizes the
        send's lease from it."""

    def sends_within(self, seconds: float) -> int | None:
        """How many shipments could start within ``seconds`` at the rate
        the marketplace allows this seller (None: no per-second limit).
        Consumes nothing and never raises: the engine claims no more than
        a run can send in the time it has left."""

    def send_delay(self, shipment: Shipment | None = None) -> float:
        """Seconds before :meth:`confirm_shipment` could send ``shipment``
        (any one shipment when None) without sleeping in the client's pacer;
        0.0 when it can go now. Consumes nothing and never raises, so an
        engine serving many sellers can send for whichever is ready and
        sleep only when none is. :meth:`confirm_shipment` still waits by
        itself (up to the client's ``max_wait``) when called early."""
