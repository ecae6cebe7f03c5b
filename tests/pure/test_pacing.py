"""Client pacing against the sandbox's own rate limits, on one simulated
timeline: the sandbox clock and the pacer's clock are the same fake clock,
moved only by the pacer's sleeps and by a simulated network delay, so every
run here is deterministic (no wall-clock timing).

Ratio, as scripts/benchmark_pacing.py prints it: for one seller with
documented rate r and burst b, N requests as fast as allowed,
``(N - b) / (r * (last arrival - first arrival))``: the steady rate after
the burst over the documented rate (1.0 = exactly at the limit).
"""

import collections
import datetime
import time

import pytest
import requests

from marketplaces import amazon, base
from marketplaces.amazon import AmazonClient
from marketplaces.ebay_fulfillment import EbayFulfillmentClient
from marketplaces.ebay_trading import EbayTradingClient
from marketplaces.errors import RateLimitedError
from marketplaces.pacer import Pacer
from sandbox.clock import Clock
from sandbox.ratelimit import DEFAULT_LIMITS, Limit
from sandbox.server import SandboxServer

MARKETPLACE = "ATVPDKIKX0DER"
RATE, BURST = 2.0, 10  # confirmShipment's documented usage plan


class Timeline:
    """The one "now" of a run; ``sleep`` moves it."""

    def __init__(self):
        self.now = time.time()  # real epoch: token and order dates stay sane

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        # At epoch scale a float moves by ~0.2 microseconds at the least:
        # a sleep always moves the clock, as a real one would.
        self.now += max(seconds, 1e-6) if seconds > 0 else 0.0


class DelayedSession(requests.Session):
    """Every request reaches the sandbox ``delay(n)`` seconds after it left
    (the n-th request of this session, from 0), on the timeline."""

    def __init__(self, timeline, delay):
        super().__init__()
        self.timeline, self.delay, self.sent = timeline, delay, 0

    def request(self, *args, **kwargs):
        self.timeline.sleep(self.delay(self.sent))
        self.sent += 1
        return super().request(*args, **kwargs)


@pytest.fixture
def timeline():
    return Timeline()


@pytest.fixture
def make_sandbox(timeline):
    servers = []

    def make(**limits):
        server = SandboxServer(
            port=0, clock=Clock(timeline), rate_limits=limits or None
        ).start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()


@pytest.fixture
def pacer(timeline):
    return Pacer(clock=timeline, sleep=timeline.sleep)


def amazon_client(sandbox, pacer, timeline, seller, delay=lambda n: 0.0):
    client = AmazonClient(
        client_id="amzn1.application-oa2-client.pacing",
        client_secret="secret",
        refresh_token=f"Atzr|seller-{seller}",
        marketplace_id=MARKETPLACE,
        api_base_url=sandbox.url,
        auth_url=sandbox.url + "/auth/o2/token",
        session=DelayedSession(timeline, delay),
        max_wait=60,
    )
    client._pacer = pacer
    return client


def amazon_shipments(sandbox, seller, count):
    shipments = []
    for number in range(count):
        order_ref = f"{100 + seller}-{number:07d}-1234567"
        sandbox.add_amazon_order(
            order_ref,
            marketplace_id=MARKETPLACE,
            items=[{"order_item_id": f"{seller}{number:010d}", "quantity": 1}],
        )
        package = base.Package(
            "1",
            f"1Z{seller:04d}{number:08d}",
            (base.ShipmentItem(f"{seller}{number:010d}", 1),),
        )
        shipments.append(
            base.Shipment(
                order_ref=order_ref,
                carrier_code="UPS",
                carrier_name="UPS",
                shipping_method="Ground",
                ship_date=datetime.datetime(2026, 2, 11),
                packages=(package,),
            )
        )
    return shipments


def push_interleaved(timeline, work):
    """Send every shipment the way the engine does: whichever seller can
    send now goes; sleep only when none can. ``work`` = {client: [shipment]}.
    Returns the RateLimitedErrors met (none expected)."""
    queues = {client: collections.deque(items) for client, items in work.items()}
    throttled = []
    while any(queues.values()):
        delays = {c: c.send_delay(q[0]) for c, q in queues.items() if q}
        client = min(delays, key=delays.get)
        if delays[client] > 0:
            timeline.sleep(delays[client])
            continue
        try:
            client.confirm_shipment(queues[client].popleft())
        except RateLimitedError as err:
            throttled.append(err)
    return throttled


def arrivals(sandbox):
    """{seller prefix: [(time, status)]} of the confirmShipment requests."""
    seen = collections.defaultdict(list)
    for entry in sandbox.requests("amazon.confirmShipment"):
        seen[entry["order_ref"][:3]].append((entry["time"], entry["status"]))
    return seen


def ratio(times, rate=RATE, burst=BURST):
    return (len(times) - burst) / (rate * (times[-1] - times[0]))


@pytest.mark.parametrize(
    "operation", [amazon.CONFIRM_SHIPMENT, amazon.GET_ORDER, amazon.GET_CATALOG_ITEM]
)
def test_sandbox_meters_each_paced_operation_at_its_documented_plan(operation):
    """Client and sandbox read the same usage-plan tables (ordersV0.json
    confirmShipment 2/10, orders_2026-01-01.json getOrder 0.5/30,
    catalogItems_2022-04-01.json getCatalogItem 2/2): the sandbox is never
    looser than what the client paces at."""
    limit = DEFAULT_LIMITS["amazon." + operation.name]
    assert (limit.rate, limit.burst) == (operation.rate, operation.burst)


@pytest.mark.parametrize("sellers", [1, 3])
def test_interleaved_sellers_reach_the_ceiling_without_429(
    make_sandbox, pacer, timeline, sellers
):
    sandbox = make_sandbox()
    # The worst timing for the client: each seller's first request (a new
    # connection) is 0.3 s slow, so the sandbox starts its bucket late;
    # every later one arrives at once.
    work = {
        amazon_client(
            sandbox, pacer, timeline, seller, delay=lambda n: 0.3 if n == 1 else 0.0
        ): amazon_shipments(sandbox, seller, 60)
        for seller in range(sellers)
    }

    assert push_interleaved(timeline, work) == []

    seen = arrivals(sandbox)
    assert len(seen) == sellers
    for answers in seen.values():
        assert [status for _time, status in answers] == [204] * 60
        assert ratio([when for when, _status in answers]) >= 0.95


def test_the_run_above_does_catch_a_pacer_that_runs_early(make_sandbox, timeline):
    """The same run with the old margins (refill 10 % slow, no lead) and a
    slow first request: the sandbox answers 429, so the test above would
    notice a pacer that sends too early."""

    class EagerPacer(Pacer):
        SAFETY = 1.0
        LAG = 0.0

    sandbox = make_sandbox()
    pacer = EagerPacer(clock=timeline, sleep=timeline.sleep)
    client = amazon_client(
        sandbox, pacer, timeline, 0, delay=lambda n: 0.3 if n == 1 else 0.0
    )

    throttled = push_interleaved(timeline, {client: amazon_shipments(sandbox, 0, 20)})

    assert throttled
    assert all(err.http_status == 429 for err in throttled)


def test_announced_slower_rate_is_obeyed(make_sandbox, pacer, timeline):
    """A seller whose usage plan is 1/s (Amazon's dynamic plans): the
    sandbox announces it in x-amzn-RateLimit-Limit; the client paces at it
    instead of the documented 2/s, and is never throttled."""
    sandbox = make_sandbox(**{"amazon.confirmShipment": (1.0, BURST)})
    client = amazon_client(sandbox, pacer, timeline, 0)

    assert push_interleaved(timeline, {client: amazon_shipments(sandbox, 0, 60)}) == []

    times = [when for when, _status in arrivals(sandbox)["100"]]
    assert 0.95 <= ratio(times, rate=1.0) <= 1.0


def test_announced_faster_rate_is_used(make_sandbox, pacer, timeline):
    """A seller with a larger plan (4/s) is paced at 4/s, not held to the
    documented 2/s."""
    sandbox = make_sandbox(**{"amazon.confirmShipment": (4.0, BURST)})
    client = amazon_client(sandbox, pacer, timeline, 0)

    assert push_interleaved(timeline, {client: amazon_shipments(sandbox, 0, 60)}) == []

    times = [when for when, _status in arrivals(sandbox)["100"]]
    assert 0.95 <= ratio(times, rate=4.0) <= 1.0


def test_a_429_drains_the_local_bucket(make_sandbox, pacer, timeline):
    """A usage plan with a smaller burst than documented: the first 429
    empties the client's bucket, so send_delay says wait, and the next
    shipment goes through."""
    sandbox = make_sandbox(**{"amazon.confirmShipment": Limit(RATE, 3)})
    client = amazon_client(sandbox, pacer, timeline, 0)
    shipments = amazon_shipments(sandbox, 0, 5)
    for shipment in shipments[:3]:
        client.confirm_shipment(shipment)

    with pytest.raises(RateLimitedError) as info:
        client.confirm_shipment(shipments[3])

    assert info.value.http_status == 429
    step = 1 / (RATE * Pacer.SAFETY)
    assert client.send_delay(shipments[4]) == pytest.approx(
        (1 + RATE * Pacer.LAG) * step
    )
    timeline.sleep(client.send_delay(shipments[4]))
    client.confirm_shipment(shipments[4])
    assert [e["status"] for e in sandbox.requests("amazon.confirmShipment")] == [
        204,
        204,
        204,
        429,
        204,
    ]


def test_send_delay_counts_every_package(make_sandbox, pacer, timeline):
    sandbox = make_sandbox()
    client = amazon_client(sandbox, pacer, timeline, 0)
    one = amazon_shipments(sandbox, 0, 1)[0]
    three = base.Shipment(
        **{
            **one.__dict__,
            "packages": tuple(
                base.Package(str(n), f"TRK{n}", one.packages[0].items)
                for n in (1, 2, 3)
            ),
        }
    )
    assert client.send_delay() == 0.0
    assert client.send_delay(three) == 0.0
    start = timeline.now
    for _ in range(BURST - int(RATE * Pacer.LAG) - 2):  # 2 tokens left
        client.confirm_shipment(one)
    assert client.send_delay(one) == 0.0
    step = 1 / (RATE * Pacer.SAFETY)
    assert client.send_delay(three) == pytest.approx(step)
    assert timeline.now == start  # asking never slept


# -- eBay: no per-second plan ---------------------------------------------------


def test_ebay_clients_never_ask_to_wait(make_sandbox, pacer, timeline):
    """eBay documents daily call limits, no per-second plan: send_delay is
    0.0, even right after a 429 (its Retry-After travels with the error for
    the engine to defer that shipment)."""
    sandbox = make_sandbox()
    common = {
        "client_id": "ebay-app",
        "client_secret": "secret",
        "refresh_token": "v^1.1#seller",
        "api_base_url": sandbox.url,
        "session": DelayedSession(timeline, lambda n: 0.0),
    }
    rest = EbayFulfillmentClient(**common)
    trading = EbayTradingClient(dev_id="dev", **common)
    rest._pacer = trading._pacer = pacer
    sandbox.add_ebay_order(
        "12-34567-89012", line_items=[{"line_item_id": "10001", "quantity": 1}]
    )
    shipment = base.Shipment(
        order_ref="12-34567-89012",
        carrier_code="UPS",
        carrier_name="UPS",
        shipping_method="Ground",
        ship_date=datetime.datetime(2026, 2, 11),
        packages=(base.Package("1", "1Z999", (base.ShipmentItem("10001", 1),)),),
    )
    assert rest.send_delay(shipment) == 0.0
    assert trading.send_delay(shipment) == 0.0
    sandbox.inject_fault(
        "ebay.createShippingFulfillment", status=429, headers={"Retry-After": "7"}
    )

    with pytest.raises(RateLimitedError) as info:
        rest.confirm_shipment(shipment)

    assert info.value.retry_after == 7.0
    assert rest.send_delay(shipment) == 0.0
    assert trading.send_delay(shipment) == 0.0
