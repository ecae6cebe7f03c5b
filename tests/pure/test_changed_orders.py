"""Reconciliation reads of the three clients (``changed_orders``): the orders
a marketplace changed within a time window, by batch reads only, against the
sandbox over real HTTP.

Amazon runs on the simulated timeline of ``test_batch_reads`` (the
sandbox's clock, the pacer's and the client's "now" are one fake clock), so
the searchOrders bucket (0.0056/s, burst 20) is exactly what a test says."""

import datetime
import time

import pytest
from test_batch_reads import (  # noqa: F401 (the simulated timeline's fixtures)
    MARKETPLACE,
    add_ebay_orders,
    amazon,
    amazon_ref,
    confirm_amazon,
    ebay_client,
    ebay_ref,
    ebay_shipment,
    make_sandbox,
    statuses,
    timed_sandbox,
    timeline,
)

from marketplaces import amazon as amazon_module
from marketplaces import base, ebay_fulfillment, ebay_trading
from marketplaces.amazon import SEARCH_ORDERS
from marketplaces.ebay_fulfillment import EbayFulfillmentClient
from marketplaces.ebay_trading import EbayTradingClient
from marketplaces.errors import PermanentError
from marketplaces.pacer import Pacer


@pytest.fixture
def clock(timeline):  # noqa: F811
    """The simulated timeline of ``test_batch_reads``."""
    return timeline


@pytest.fixture
def seller(amazon):  # noqa: F811
    """``make(**sandbox limits) -> (sandbox, client)`` on the timeline."""
    return amazon


# -- Amazon -------------------------------------------------------------------


@pytest.fixture
def amazon_now(clock, monkeypatch):
    """The client's "now" is the timeline's (naive UTC, as tokens.utcnow)."""
    monkeypatch.setattr(
        amazon_module, "utcnow", lambda: clock.utcnow().replace(tzinfo=None)
    )


def test_amazon_changed_orders_reads_the_window_by_last_update(
    seller, clock, amazon_now, journal
):
    sandbox, client = seller()
    since = clock.utcnow()
    confirm_amazon(sandbox, client, range(150))
    confirm_amazon(sandbox, client, range(500, 510), ship=False)  # unshipped
    sandbox.cancel_order(amazon_ref(500))
    clock.sleep(600)  # Amazon searches up to two minutes ago
    journal.clear()

    result = client.changed_orders(since)

    assert result.complete and result.resume == "" and result.pages == 2
    refs = {view.order_ref for view in result.orders}
    assert refs == {amazon_ref(n) for n in [*range(150), *range(500, 510)]}
    views = {view.order_ref: view for view in result.orders}
    assert views[amazon_ref(7)].has_tracking("1Z00000007")
    assert views[amazon_ref(7)].shows_shipped
    assert views[amazon_ref(500)].cancelled
    assert not views[amazon_ref(501)].shows_shipped
    assert views[amazon_ref(7)].last_updated
    assert result.until == base.window_end(
        clock.utcnow() - amazon_module.SEARCH_BEFORE_LAG
    )
    first = sandbox.requests("amazon.searchOrders")[0]["query"]
    assert first == {
        "lastUpdatedAfter": [base.utc_iso(since)],
        "lastUpdatedBefore": [base.utc_iso(result.until)],
        "fulfillmentStatuses": ["UNSHIPPED,PARTIALLY_SHIPPED,SHIPPED,CANCELLED"],
        "marketplaceIds": [MARKETPLACE],
        "fulfilledBy": ["MERCHANT"],
        "maxResultsPerPage": ["100"],
        "includedData": ["FULFILLMENT,PACKAGES"],
    }
    assert [(r.operation, r.outcome) for r in journal] == [
        ("searchOrders", "success")
    ] * 2
    # the same view as getOrder's
    assert views[amazon_ref(7)] == client.read_order(amazon_ref(7))


def test_amazon_changed_orders_resumes_when_the_bucket_is_empty(
    seller, clock, amazon_now
):
    sandbox, client = seller()
    since = clock.utcnow()
    confirm_amazon(sandbox, client, range(250))
    clock.sleep(600)
    client._pacer = Pacer(clock=clock, sleep=clock.sleep)
    client.restore_pacing_state({"searchOrders": [1.0, time.time()]})
    start = clock.now

    first = client.changed_orders(since)

    assert not first.complete and first.resume and first.pages == 1
    assert len(first.orders) == 100
    assert clock.now == start  # never waited for its pacing
    nothing = client.changed_orders(since, first.until, first.resume)
    assert nothing.orders == [] and not nothing.complete
    assert nothing.resume == first.resume  # no token: nothing read
    clock.sleep(3 / SEARCH_ORDERS.rate)  # enough refill for the two pages left
    rest = client.changed_orders(since, first.until, first.resume)
    assert rest.complete and rest.pages == 2
    refs = [v.order_ref for v in first.orders + rest.orders]
    assert sorted(refs) == sorted(amazon_ref(n) for n in range(250))
    assert statuses(sandbox, "amazon.searchOrders") == [200, 200, 200]


def test_amazon_changed_orders_window_bounds(seller, clock, amazon_now):
    sandbox, client = seller()
    now = clock.utcnow()
    result = client.changed_orders(now - datetime.timedelta(minutes=1))
    assert result.complete and result.orders == [] and result.pages == 0
    assert statuses(sandbox, "amazon.searchOrders") == []  # nothing to ask
    later = client.changed_orders(
        now - datetime.timedelta(hours=1), now + datetime.timedelta(hours=1)
    )
    assert later.until == base.window_end(now - amazon_module.SEARCH_BEFORE_LAG)
    assert statuses(sandbox, "amazon.searchOrders") == [200]


# -- eBay ---------------------------------------------------------------------


def _mod_times(entry):
    root = ebay_trading.etree.fromstring(entry["xml"].encode())
    return (
        ebay_trading._text(root, "e:ModTimeFrom"),
        ebay_trading._text(root, "e:ModTimeTo"),
    )


def test_trading_changed_orders_by_mod_time_in_pages(sandbox, journal, monkeypatch):
    monkeypatch.setattr(ebay_trading, "MAX_ENTRIES_PER_PAGE", 10)
    monkeypatch.setattr(ebay_trading, "MAX_CHANGED_PAGES", 2)
    since = datetime.datetime.now(datetime.UTC) - datetime.timedelta(hours=1)
    add_ebay_orders(sandbox, range(25))
    with ebay_client(EbayTradingClient, sandbox, journal) as client:
        client.confirm_shipment(ebay_shipment(7, f"4{7:09d}-0"))
        sandbox.cancel_order(ebay_ref(8))
        sandbox.refund_ebay_order(ebay_ref(9))
        time.sleep(0.002)  # a window ends on a millisecond before the call

        first = client.changed_orders(since)
        rest = client.changed_orders(since, first.until, first.resume)

    assert not first.complete and first.resume == "3" and first.pages == 2
    assert rest.complete and rest.pages == 1
    views = {v.order_ref: v for v in first.orders + rest.orders}
    assert sorted(views) == sorted(ebay_ref(n) for n in range(25))
    assert views[ebay_ref(7)].has_tracking("1Z999AA10000000007")
    assert views[ebay_ref(8)].cancelled
    # MonetaryDetails/Refunds/Refund: the buyer was refunded
    assert views[ebay_ref(9)].refunded and not views[ebay_ref(9)].cancelled
    assert not views[ebay_ref(7)].refunded and not views[ebay_ref(8)].refunded
    assert views[ebay_ref(7)].last_updated
    calls = sandbox.requests("ebay.GetOrders")
    for number, call in enumerate(calls, 1):
        assert f"<PageNumber>{number}</PageNumber>" in call["xml"]
        assert _mod_times(call) == (base.utc_iso(since), base.utc_iso(first.until))
        assert "OrderIDArray" not in call["xml"]


def test_trading_changed_orders_windows_are_30_days_at_most(sandbox, journal):
    since = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=45)
    with ebay_client(EbayTradingClient, sandbox, journal) as client:
        result = client.changed_orders(since)
        assert result.complete
        assert result.until == base.window_end(since + datetime.timedelta(days=30))
        # the sandbox, as eBay, refuses a longer window
        request = ebay_trading.get_orders_request(
            entries_per_page=100, mod_time=(since, since + datetime.timedelta(days=31))
        )
        with pytest.raises(PermanentError, match="30 days"):
            client._trading(
                ebay_trading.GET_ORDERS, request, "", ebay_trading._accepted
            )


def test_rest_changed_orders_by_lastmodifieddate(sandbox, journal, monkeypatch):
    monkeypatch.setattr(ebay_fulfillment, "CHANGED_PAGE_SIZE", 10)
    monkeypatch.setattr(ebay_fulfillment, "MAX_CHANGED_PAGES", 2)
    since = datetime.datetime.now(datetime.UTC) - datetime.timedelta(hours=1)
    add_ebay_orders(sandbox, range(25))
    with ebay_client(EbayFulfillmentClient, sandbox, journal) as client:
        client.confirm_shipment(ebay_shipment(3, f"5{3:09d}"))
        sandbox.refund_ebay_order(ebay_ref(4))
        sandbox.cancel_order(ebay_ref(5))
        time.sleep(0.002)  # a window ends on a millisecond before the call
        before = len(sandbox.requests("ebay.getShippingFulfillments"))

        first = client.changed_orders(since)
        rest = client.changed_orders(since, first.until, first.resume)

    assert not first.complete and first.resume == "20"
    assert rest.complete
    views = {v.order_ref: v for v in first.orders + rest.orders}
    assert sorted(views) == sorted(ebay_ref(n) for n in range(25))
    assert views[ebay_ref(3)].has_tracking("1Z999AA10000000003")
    assert views[ebay_ref(4)].refunded and not views[ebay_ref(4)].cancelled
    assert views[ebay_ref(5)].cancelled
    pages = sandbox.requests("ebay.getOrders")
    window = f"lastmodifieddate:[{base.utc_iso(since)}..{base.utc_iso(first.until)}]"
    assert [p["query"] for p in pages] == [
        {"filter": [window], "limit": ["10"], "offset": [str(offset)]}
        for offset in (0, 10, 20)
    ]
    # fulfillments read only for the one order that shows one
    assert len(sandbox.requests("ebay.getShippingFulfillments")) == before + 1
