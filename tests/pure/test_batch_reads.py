"""Batch read-backs of the three clients (``read_orders``, ``read_batch_size``,
``reads_within``) against the sandbox, over real HTTP.

The Amazon tests run on one simulated timeline (the sandbox's clock and the
client pacer's clock are the same fake clock, moved by the pacer's sleeps),
so confirming hundreds of shipments at 2/s takes no wall-clock time and the
searchOrders bucket (0.0056/s, burst 20) is exactly what the test says."""

import datetime
import time

import pytest

from marketplaces import amazon as amazon_module
from marketplaces import base, ebay_trading
from marketplaces.amazon import (
    GET_ORDER,
    SEARCH_ORDERS,
    SEARCH_SINCE_MARGIN,
    AmazonClient,
)
from marketplaces.ebay_fulfillment import EbayFulfillmentClient
from marketplaces.ebay_trading import EbayTradingClient
from marketplaces.errors import RateLimitedError, TransientError
from marketplaces.http import HttpClient
from marketplaces.pacer import Pacer
from sandbox.clock import Clock
from sandbox.ratelimit import Limit
from sandbox.server import SandboxServer

MARKETPLACE = "ATVPDKIKX0DER"


class Timeline:
    """The one "now" of a run; ``sleep`` moves it."""

    def __init__(self):
        self.now = time.time()

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += max(seconds, 1e-6) if seconds > 0 else 0.0

    def utcnow(self):
        return datetime.datetime.fromtimestamp(self.now, datetime.UTC)


@pytest.fixture(scope="module")
def timeline():
    return Timeline()


@pytest.fixture(scope="module")
def timed_sandbox(timeline):
    """A sandbox of this module whose clock is the timeline (stopping one
    takes a second: one per module, not one per test)."""
    server = SandboxServer(port=0, clock=Clock(timeline)).start()
    yield server
    server.stop()


@pytest.fixture
def make_sandbox(timed_sandbox):
    """``make(**limit overrides)``: the module's sandbox, empty, with the
    default usage plans but those overridden for this test."""
    limits = timed_sandbox.limiter.limits
    saved = dict(limits)

    def make(**overrides):
        timed_sandbox.reset()
        for operation, (rate, burst) in overrides.items():
            limits[operation] = Limit(rate, burst)
        return timed_sandbox

    yield make
    limits.clear()
    limits.update(saved)
    timed_sandbox.reset()


@pytest.fixture
def amazon(make_sandbox, timeline, journal):
    """``make(**sandbox limits) -> (sandbox, client)``: one seller on a
    sandbox of its own, paced on the timeline."""

    def make(**limits):
        sandbox = make_sandbox(**limits)
        client = AmazonClient(
            client_id="amzn1.application-oa2-client.batch",
            client_secret="secret",
            refresh_token="Atzr|batch-seller",
            marketplace_id=MARKETPLACE,
            api_base_url=sandbox.url,
            auth_url=sandbox.url + "/auth/o2/token",
            on_call=journal.append,
            max_wait=60,
        )
        client._pacer = Pacer(clock=timeline, sleep=timeline.sleep)
        return sandbox, client

    return make


def amazon_ref(number):
    return f"205-{number:07d}-7654321"


def confirm_amazon(sandbox, client, numbers, ship=True):
    """Create an order per number and (``ship``) confirm one package of it."""
    for number in numbers:
        ref = amazon_ref(number)
        sandbox.add_amazon_order(
            ref,
            marketplace_id=MARKETPLACE,
            items=[{"order_item_id": f"7{number:09d}", "quantity": 1}],
        )
        if ship:
            client.confirm_shipment(
                base.Shipment(
                    order_ref=ref,
                    carrier_code="UPS",
                    carrier_name="UPS",
                    shipping_method="Ground",
                    ship_date=datetime.datetime(2026, 2, 11),
                    packages=(
                        base.Package(
                            "1",
                            f"1Z{number:08d}",
                            (base.ShipmentItem(f"7{number:09d}", 1),),
                        ),
                    ),
                )
            )


def statuses(sandbox, operation):
    return [entry["status"] for entry in sandbox.requests(operation)]


# -- Amazon -------------------------------------------------------------------


def test_amazon_reads_250_confirmed_orders_over_three_pages(amazon, timeline, journal):
    sandbox, client = amazon()
    since = timeline.utcnow()
    confirm_amazon(sandbox, client, range(1000, 1030))  # confirmed, not asked
    confirm_amazon(sandbox, client, range(250))
    confirm_amazon(sandbox, client, range(2000, 2010), ship=False)  # unshipped
    wanted = [amazon_ref(n) for n in range(250)]
    journal.clear()

    found = client.read_orders(reversed(wanted), since=since)

    assert set(wanted) <= set(found)
    # the other shipped orders the pages carried come too (kept by the
    # engine for its next batches); the unshipped ones are not searched
    extra = set(found) - set(wanted)
    assert extra <= {amazon_ref(n) for n in range(1000, 1030)}
    assert not extra & {amazon_ref(n) for n in range(2000, 2010)}
    for number in (0, 117, 249):
        view = found[amazon_ref(number)]
        assert view.order_ref == amazon_ref(number)
        assert view.status == "SHIPPED"
        assert view.has_tracking(f"1Z{number:08d}")
        assert view.packages[0].items == [(f"7{number:09d}", 1)]
    pages = sandbox.requests("amazon.searchOrders")
    assert [p["status"] for p in pages] == [200, 200, 200]  # 280 orders, 100 a page
    first = pages[0]["query"]
    assert first == {
        "lastUpdatedAfter": [base.utc_iso(since - SEARCH_SINCE_MARGIN)],
        "fulfillmentStatuses": ["PARTIALLY_SHIPPED,SHIPPED,CANCELLED"],
        "marketplaceIds": [MARKETPLACE],
        "fulfilledBy": ["MERCHANT"],
        "maxResultsPerPage": ["100"],
        "includedData": ["FULFILLMENT,PACKAGES"],
    }
    assert first["lastUpdatedAfter"][0].endswith("Z")
    for page in pages[1:]:
        token = page["query"].pop("paginationToken")
        assert token and page["query"] == first
    assert statuses(sandbox, "amazon.getOrder") == []
    assert [(r.api, r.operation, r.outcome, r.order_ref) for r in journal] == [
        (base.API_AMAZON_ORDERS, "searchOrders", "success", "")
    ] * 3
    # The same view as getOrder's.
    assert found[amazon_ref(117)] == client.read_order(amazon_ref(117))


def test_amazon_search_reads_every_page_then_starts_from_its_cursor(
    amazon, timeline, monkeypatch
):
    """A search reads its result set to the last page (the orders it
    carries are the seller's next read-backs); the next search starts at
    the latest update Amazon showed, not at ``since`` less the margin, so
    its pages carry only the orders changed since."""
    sandbox, client = amazon()
    # Amazon's clock and ours agree (the timeline runs ahead of the wall)
    monkeypatch.setattr(amazon_module, "utcnow", timeline.utcnow)
    since = timeline.utcnow()
    confirm_amazon(sandbox, client, range(150))

    found = client.read_orders([amazon_ref(n) for n in range(40)], since=since)

    assert {amazon_ref(n) for n in range(150)} <= set(found)
    assert statuses(sandbox, "amazon.searchOrders") == [200, 200]

    timeline.sleep(5)  # lastUpdatedTime is to the second
    confirm_amazon(sandbox, client, range(150, 190))
    found = client.read_orders([amazon_ref(n) for n in range(150, 190)], since=since)
    assert set(found) == {amazon_ref(n) for n in range(150, 190)}
    assert statuses(sandbox, "amazon.searchOrders") == [200, 200, 200]


def test_amazon_search_cursor_belongs_to_its_scope(amazon, timeline, monkeypatch):
    """Two callers that keep their own views (the engine of two databases
    in one worker) read one seller: the second's search does not start
    where the first's ended, so it misses none of the orders."""
    sandbox, client = amazon()
    monkeypatch.setattr(amazon_module, "utcnow", timeline.utcnow)
    since = timeline.utcnow()
    confirm_amazon(sandbox, client, range(40))
    refs = [amazon_ref(n) for n in range(40)]
    client.search_scope = "db_a"
    assert set(refs) <= set(client.read_orders(refs, since=since))

    timeline.sleep(5)
    client.search_scope = "db_b"
    assert set(refs) <= set(client.read_orders(refs, since=since))
    client.search_scope = "db_a"
    assert not set(refs) & set(client.read_orders(refs, since=since))


def test_amazon_spends_a_page_on_a_pages_worth_or_the_last_orders(amazon, timeline):
    """With getOrder's bucket spent, 10 orders due wait while more are
    coming (a page refills in 3 minutes); 100 due, or the last 10, go by a
    searchOrders page."""
    sandbox, client = amazon()
    since = timeline.utcnow()
    confirm_amazon(sandbox, client, range(40))
    refs = [amazon_ref(n) for n in range(40)]
    for ref in refs[:29]:
        client.read_order(ref)  # getOrder's bucket spent

    assert client.read_orders(refs[:10], since=since, coming=5) == {}
    assert statuses(sandbox, "amazon.searchOrders") == []
    found = client.read_orders(refs[:10], since=since, backlog=100, coming=1900)
    assert set(refs) <= set(found)
    assert statuses(sandbox, "amazon.searchOrders") == [200]
    found = client.read_orders(refs[:10], since=since, coming=0)
    assert statuses(sandbox, "amazon.searchOrders") == [200, 200]


def test_amazon_reads_few_refs_singly(amazon, timeline):
    sandbox, client = amazon()
    since = timeline.utcnow()
    confirm_amazon(sandbox, client, range(40))
    refs = [amazon_ref(n) for n in range(40)]

    # getOrder's bucket (burst 30, less the half second kept in hand) covers
    # 29 reads now: the engine reads those with read_order.
    assert client.read_orders(refs[:29], since=since) == {}
    assert client.read_orders(refs, since=None) == {}  # no time to search by
    assert client.read_orders([], since=since) == {}
    assert statuses(sandbox, "amazon.searchOrders") == []

    # Once getOrder's bucket is lower, the same few refs go by searchOrders.
    for ref in refs[:25]:
        client.read_order(ref)
    found = client.read_orders(refs[:5], since=since)
    assert set(refs[:5]) <= set(found)
    assert statuses(sandbox, "amazon.searchOrders") == [200]


def test_amazon_searches_when_the_sellers_backlog_outgrows_get_order(amazon, timeline):
    """A batch of 5 refs out of 40 due for the seller: getOrder's bucket
    (29 now) would cover the 5 but not the 40 the engine has yet to read,
    so the batch goes by searchOrders, whose page carries the others too."""
    sandbox, client = amazon()
    since = timeline.utcnow()
    confirm_amazon(sandbox, client, range(40))
    refs = [amazon_ref(n) for n in range(40)]

    assert client.read_orders(refs[:5], since=since, backlog=29) == {}
    assert statuses(sandbox, "amazon.searchOrders") == []

    found = client.read_orders(refs[:5], since=since, backlog=40)
    assert set(refs) <= set(found)
    assert statuses(sandbox, "amazon.searchOrders") == [200]
    assert statuses(sandbox, "amazon.getOrder") == []


def test_amazon_thirty_refs_are_more_than_get_order_allows(amazon, timeline):
    sandbox, client = amazon()
    since = timeline.utcnow()
    confirm_amazon(sandbox, client, range(30))

    found = client.read_orders([amazon_ref(n) for n in range(30)], since=since)

    assert len(found) == 30
    assert statuses(sandbox, "amazon.searchOrders") == [200]


def test_amazon_empty_search_bucket_returns_what_it_has(amazon, timeline, journal):
    sandbox, client = amazon()
    since = timeline.utcnow()
    confirm_amazon(sandbox, client, range(150))
    refs = [amazon_ref(n) for n in range(150)]
    key = client._pace_key(SEARCH_ORDERS)
    client._pacer.throttled(key, SEARCH_ORDERS.rate, SEARCH_ORDERS.burst)
    client.max_wait = 300  # the pacer would wait the 182 s for a token
    journal.clear()
    start = timeline.now

    assert client.read_orders(refs, since=since) == {}
    assert statuses(sandbox, "amazon.searchOrders") == []
    assert journal == []

    # One token: one page read, the rest left to single reads, no 429.
    client._pacer = Pacer(clock=timeline, sleep=timeline.sleep)
    client.restore_pacing_state({"searchOrders": [1.0, time.time()]})
    found = client.read_orders(refs, since=since)
    assert set(found) == set(refs[:100])
    assert statuses(sandbox, "amazon.searchOrders") == [200]
    assert timeline.now == start  # never slept on its own pacing


def test_amazon_429_of_search_orders_is_raised(amazon, timeline, journal):
    # Another process used the seller's bucket: Amazon allows one page only.
    sandbox, client = amazon(**{"amazon.searchOrders": (0.0056, 1)})
    since = timeline.utcnow()
    confirm_amazon(sandbox, client, range(150))
    journal.clear()

    with pytest.raises(RateLimitedError) as raised:
        client.read_orders([amazon_ref(n) for n in range(150)], since=since)

    assert raised.value.http_status == 429
    assert statuses(sandbox, "amazon.searchOrders") == [200, 429]
    assert [(r.operation, r.http_status) for r in journal] == [
        ("searchOrders", 200),
        ("searchOrders", 429),
    ]
    # The pacer drained the bucket: the next batch holds back by itself.
    assert client.read_orders([amazon_ref(n) for n in range(150)], since=since) == {}
    assert statuses(sandbox, "amazon.searchOrders") == [200, 429]


def test_amazon_reads_within(amazon, timeline):
    sandbox, client = amazon()

    # getOrder: 30 - 0.25 (half a second of 0.5/s kept in hand) = 29 now;
    # searchOrders: 20 - 0.0028 = 19 pages of 100 now.
    assert client.reads_within(0) == 29 + 19 * 100
    # In 180 s getOrder refills 180 * 0.5 * 0.98 = 88.2 (29.75 + 88.2 = 117)
    # and searchOrders 180 * 0.0056 * 0.98 = 0.99 page (19.997 + 0.99 = 20).
    assert client.reads_within(180) == 117 + 20 * 100
    assert client.reads_within(0) == 29 + 19 * 100  # consumed nothing
    assert sandbox.requests() == []

    client._pacer.throttled(
        client._pace_key(SEARCH_ORDERS), SEARCH_ORDERS.rate, SEARCH_ORDERS.burst
    )
    client._pacer.throttled(
        client._pace_key(GET_ORDER), GET_ORDER.rate, GET_ORDER.burst
    )
    assert client.reads_within(0) == 0
    # throttled() leaves each bucket half a second in debt: getOrder
    # -0.25 + 10 * 0.49 = 4.65, searchOrders -0.0028 + 10 * 0.0055 < 1.
    assert client.reads_within(10) == 4


def test_amazon_batch_size():
    assert AmazonClient.read_batch_size == 100
    assert SEARCH_ORDERS.rate == 0.0056 and SEARCH_ORDERS.burst == 20


# -- eBay ---------------------------------------------------------------------

EBAY_SECRETS = ("PRD-cert-secret", "v^1.1#i^1#batch-refresh")


def ebay_client(cls, sandbox, journal):
    return cls(
        client_id="Seller-App-PRD-1",
        client_secret=EBAY_SECRETS[0],
        dev_id="dev-id-0001",
        refresh_token=EBAY_SECRETS[1],
        api_base_url=sandbox.url,
        timeout=(2, 5),
        on_call=journal.append,
    )


def ebay_ref(number):
    return f"31-{number:05d}-00001"


def add_ebay_orders(sandbox, numbers):
    for number in numbers:
        sandbox.add_ebay_order(
            ebay_ref(number),
            created_time="2026-01-01T00:00:00Z",  # before the ship dates
            line_items=[
                {
                    "line_item_id": f"5{number:09d}",
                    "item_id": f"4{number:09d}",
                    "transaction_id": "0",
                    "quantity": 1,
                }
            ],
        )


def ebay_shipment(number, item_ref):
    return base.Shipment(
        order_ref=ebay_ref(number),
        carrier_code="UPS",
        carrier_name="UPS",
        shipping_method="UPS Ground",
        ship_date=datetime.datetime(2026, 2, 11),
        packages=(
            base.Package(
                "1", f"1Z999AA1{number:010d}", (base.ShipmentItem(item_ref, 1),)
            ),
        ),
        completes_order=True,
        sole_shipment=True,
    )


def order_ids_sent(entry):
    root = ebay_trading.etree.fromstring(entry["xml"].encode())
    return [
        e.text for e in root.iterfind("e:OrderIDArray/e:OrderID", ebay_trading.NSMAP)
    ]


def test_trading_reads_by_100_order_ids(sandbox, journal):
    add_ebay_orders(sandbox, range(120))
    with ebay_client(EbayTradingClient, sandbox, journal) as client:
        client.confirm_shipment(ebay_shipment(7, f"4{7:09d}-0"))
        journal.clear()
        wanted = [ebay_ref(n) for n in range(120)] + ["31-99999-00001"]

        found = client.read_orders(wanted)

        assert set(found) == set(wanted[:-1])  # the unknown one is absent
        assert found[ebay_ref(7)].has_tracking("1Z999AA10000000007")
        assert not found[ebay_ref(8)].packages
        calls = sandbox.requests("ebay.GetOrders")
        assert [len(order_ids_sent(c)) for c in calls] == [100, 21]
        assert all("<EntriesPerPage>100</EntriesPerPage>" in c["xml"] for c in calls)
        assert [(r.operation, r.outcome, r.order_ref) for r in journal] == [
            ("GetOrders", "success", "")
        ] * 2
        assert found[ebay_ref(7)] == client.read_order(ebay_ref(7))
        assert client.read_batch_size == 100
        assert client.reads_within(60) is None


def test_trading_follows_pages(sandbox, journal, monkeypatch):
    monkeypatch.setattr(ebay_trading, "MAX_ENTRIES_PER_PAGE", 10)
    add_ebay_orders(sandbox, range(25))
    with ebay_client(EbayTradingClient, sandbox, journal) as client:
        found = client.read_orders([ebay_ref(n) for n in range(25)])

    assert len(found) == 25
    pages = [c["xml"] for c in sandbox.requests("ebay.GetOrders")]
    assert len(pages) == 3
    for number, xml in enumerate(pages, 1):
        assert f"<PageNumber>{number}</PageNumber>" in xml
        assert "<EntriesPerPage>10</EntriesPerPage>" in xml


def test_rest_reads_by_50_and_fulfillments_only_where_shipped(sandbox, journal):
    add_ebay_orders(sandbox, range(60))
    with ebay_client(EbayFulfillmentClient, sandbox, journal) as client:
        client.confirm_shipment(ebay_shipment(3, f"5{3:09d}"))
        client.confirm_shipment(ebay_shipment(55, f"5{55:09d}"))
        journal.clear()
        wanted = [ebay_ref(n) for n in range(60)] + ["31-99999-00001"]
        before = len(sandbox.requests("ebay.getShippingFulfillments"))

        found = client.read_orders(wanted)

        assert set(found) == set(wanted[:-1])
        reads = sandbox.requests("ebay.getShippingFulfillments")[before:]
        assert [r["order_ref"] for r in reads] == [ebay_ref(3), ebay_ref(55)]
        assert found[ebay_ref(55)].has_tracking("1Z999AA10000000055")
        assert found[ebay_ref(55)].line_status == {f"5{55:09d}": "FULFILLED"}
        assert not found[ebay_ref(4)].packages
        batches = sandbox.requests("ebay.getOrders")
        assert [len(b["query"]["orderIds"][0].split(",")) for b in batches] == [50, 11]
        assert [(r.operation, r.order_ref) for r in journal] == [
            ("getOrders", ""),
            ("getShippingFulfillments", ebay_ref(3)),
            ("getOrders", ""),
            ("getShippingFulfillments", ebay_ref(55)),
        ]
        assert found[ebay_ref(3)] == client.read_order(ebay_ref(3))
        assert found[ebay_ref(4)] == client.read_order(ebay_ref(4))
        assert client.read_batch_size == 50
        assert client.reads_within(60) is None


def test_rest_order_whose_fulfillments_are_refused_is_left_to_single_reads(
    sandbox, journal
):
    add_ebay_orders(sandbox, range(3))
    with ebay_client(EbayFulfillmentClient, sandbox, journal) as client:
        for number in range(3):
            client.confirm_shipment(ebay_shipment(number, f"5{number:09d}"))
        sandbox.inject_fault(
            "ebay.getShippingFulfillments", status=404, order_ref=ebay_ref(1)
        )

        found = client.read_orders([ebay_ref(n) for n in range(3)])

    assert set(found) == {ebay_ref(0), ebay_ref(2)}
    assert journal[-2].order_ref == ebay_ref(1) and journal[-2].http_status == 404


def test_rest_errors_of_the_batch_call_raise(sandbox, journal):
    add_ebay_orders(sandbox, range(2))
    sandbox.inject_fault("ebay.getOrders", status=500)
    with (
        ebay_client(EbayFulfillmentClient, sandbox, journal) as client,
        pytest.raises(TransientError),
    ):
        client.read_orders([ebay_ref(0), ebay_ref(1)])
    assert journal[-1].operation == "getOrders" and journal[-1].http_status == 500


def test_a_client_without_batch_reads_leaves_every_ref_to_read_order():
    class Minimal(HttpClient):
        def _token_request(self):
            return {}

    client = Minimal(
        client_id="c",
        client_secret="s",
        refresh_token="r",
        api_base_url="https://example.invalid",
        token_url="https://example.invalid/token",
    )
    assert client.read_batch_size == 1
    assert (
        client.read_orders(["a", "b"], since=datetime.datetime.now(datetime.UTC)) == {}
    )
    assert client.reads_within(60) is None
