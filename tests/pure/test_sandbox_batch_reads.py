"""The sandbox's batch reads, driven over real HTTP with ``requests``:
Amazon searchOrders (orders_2026-01-01.json), eBay Trading GetOrders by
OrderIDArray and eBay REST getOrders by orderIds (sell_fulfillment OAS).
Each test states one rule of those contracts the sandbox must keep."""

import datetime

import pytest
import requests
import test_sandbox
from lxml import etree

TIMEOUT = 5
MARKETPLACE = "ATVPDKIKX0DER"
CANADA = "A2EUQ1WTGCTBG2"  # another North America marketplace
GERMANY = "A1PA6795UKMFR9"  # a marketplace of the eu host
NS = "urn:ebay:apis:eBLBaseComponents"
X = {"e": NS}
SEARCH = "/orders/2026-01-01/orders"


def iso(moment):
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def amazon_token(sandbox, refresh_token="Atzr|search-refresh"):
    return test_sandbox.amazon_token(sandbox, refresh_token)


def search(sandbox, token, **params):
    return requests.get(
        sandbox.url + SEARCH,
        params=params,
        headers={"x-amz-access-token": token},
        timeout=TIMEOUT,
    )


def add_order(sandbox, number, marketplace=MARKETPLACE, created=None):
    order_id = f"111-{number:07d}-0000001"
    sandbox.add_amazon_order(
        order_id,
        marketplace_id=marketplace,
        items=[{"order_item_id": f"9{number:09d}", "quantity": 1}],
        created_time=created,
    )
    return order_id


def confirm(sandbox, token, order_id, number, marketplace=MARKETPLACE):
    response = requests.post(
        f"{sandbox.url}/orders/v0/orders/{order_id}/shipmentConfirmation",
        json={
            "marketplaceId": marketplace,
            "packageDetail": {
                "packageReferenceId": "1",
                "carrierCode": "UPS",
                "trackingNumber": f"1Z{number:010d}",
                "shipDate": "2026-02-11T01:00:00Z",
                "orderItems": [{"orderItemId": f"9{number:09d}", "quantity": 1}],
            },
        },
        headers={"x-amz-access-token": token},
        timeout=TIMEOUT,
    )
    assert response.status_code == 204, response.text


def ids(response):
    assert response.status_code == 200, response.text
    return [order["orderId"] for order in response.json()["orders"]]


def error(response, status=400):
    assert response.status_code == status, response.text
    return response.json()["errors"][0]


# ------------------------------------------------------ Amazon searchOrders


def test_last_updated_after_finds_orders_once_confirmed(sandbox):
    token = amazon_token(sandbox)
    week_ago = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=7)
    sandbox.clock.freeze()
    old = add_order(sandbox, 1, created=week_ago)
    sandbox.clock.advance(60)
    since = sandbox.clock.utcnow()
    assert ids(search(sandbox, token, lastUpdatedAfter=iso(since))) == []

    sandbox.clock.advance(60)
    confirm(sandbox, token, old, 1)

    found = search(
        sandbox,
        token,
        lastUpdatedAfter=iso(since),
        includedData="FULFILLMENT,PACKAGES",
    )
    assert ids(found) == [old]
    (order,) = found.json()["orders"]
    assert order["lastUpdatedTime"] == iso(sandbox.clock.utcnow())
    assert order["fulfillment"]["fulfillmentStatus"] == "SHIPPED"
    assert order["packages"][0]["trackingNumber"] == "1Z0000000001"
    # Without includedData: the required fields and the items only.
    (bare,) = search(sandbox, token, lastUpdatedAfter=iso(since)).json()["orders"]
    assert "packages" not in bare and "fulfillment" not in bare
    assert bare["orderItems"][0]["orderItemId"] == "9000000001"
    # createdAfter searches the creation time instead.
    assert ids(search(sandbox, token, createdAfter=iso(since))) == []
    assert ids(search(sandbox, token, createdAfter=iso(week_ago))) == [old]


def test_a_seller_sees_its_own_orders_only(sandbox):
    """Amazon scopes every call to the selling partner: a seller's search
    never shows an order another seller confirmed (one seller would page
    through every seller's orders otherwise), nor does getOrder or
    confirmShipment find it."""
    mine, theirs = amazon_token(sandbox), amazon_token(sandbox, "Atzr|other-seller")
    sandbox.clock.freeze()
    since = sandbox.clock.utcnow()
    sandbox.clock.advance(1)
    first, second = add_order(sandbox, 1), add_order(sandbox, 2)
    confirm(sandbox, mine, first, 1)
    confirm(sandbox, theirs, second, 2)

    assert ids(search(sandbox, mine, lastUpdatedAfter=iso(since))) == [first]
    assert ids(search(sandbox, theirs, lastUpdatedAfter=iso(since))) == [second]
    # nor reads or confirms it
    read = requests.get(
        f"{sandbox.url}/orders/2026-01-01/orders/{second}",
        headers={"x-amz-access-token": mine},
        timeout=TIMEOUT,
    )
    assert error(read, 404)["code"] == "NotFound"
    response = requests.post(
        f"{sandbox.url}/orders/v0/orders/{second}/shipmentConfirmation",
        json={
            "marketplaceId": MARKETPLACE,
            "packageDetail": {
                "packageReferenceId": "2",
                "carrierCode": "UPS",
                "trackingNumber": "1Z0000000099",
                "shipDate": "2026-02-11T01:00:00Z",
                "orderItems": [{"orderItemId": "9000000002", "quantity": 1}],
            },
        },
        headers={"x-amz-access-token": mine},
        timeout=TIMEOUT,
    )
    assert error(response, 404)["code"] == "NotFound"
    assert len(sandbox.amazon_order(second)["packages"]) == 1


def test_filters_marketplace_status_and_fulfilled_by(sandbox):
    token = amazon_token(sandbox)
    start = iso(sandbox.clock.utcnow() - datetime.timedelta(minutes=1))
    us_shipped = add_order(sandbox, 1)
    confirm(sandbox, token, us_shipped, 1)
    us_open = add_order(sandbox, 2)
    canada = add_order(sandbox, 3, marketplace=CANADA)
    add_order(sandbox, 4, marketplace=GERMANY)  # the eu host's: never here

    assert sorted(ids(search(sandbox, token, lastUpdatedAfter=start))) == sorted(
        [us_shipped, us_open, canada]
    )
    us_only = search(sandbox, token, lastUpdatedAfter=start, marketplaceIds=MARKETPLACE)
    assert sorted(ids(us_only)) == sorted([us_shipped, us_open])
    shipped = search(
        sandbox,
        token,
        lastUpdatedAfter=start,
        fulfillmentStatuses="PARTIALLY_SHIPPED,SHIPPED,CANCELLED",
    )
    assert ids(shipped) == [us_shipped]
    # Every sandbox order is merchant-fulfilled.
    assert (
        ids(search(sandbox, token, lastUpdatedAfter=start, fulfilledBy="AMAZON")) == []
    )
    assert (
        len(ids(search(sandbox, token, lastUpdatedAfter=start, fulfilledBy="MERCHANT")))
        == 3
    )


def test_pages_follow_next_token_with_the_same_parameters(sandbox):
    token = amazon_token(sandbox)
    start = iso(sandbox.clock.utcnow() - datetime.timedelta(minutes=1))
    created = [add_order(sandbox, number) for number in range(1, 8)]
    criteria = {"lastUpdatedAfter": start, "marketplaceIds": MARKETPLACE}

    first = search(sandbox, token, maxResultsPerPage=3, **criteria)
    seen = ids(first)
    next_token = first.json()["pagination"]["nextToken"]
    # maxResultsPerPage and includedData may change between pages.
    second = search(
        sandbox,
        token,
        maxResultsPerPage=2,
        includedData="PACKAGES",
        paginationToken=next_token,
        **criteria,
    )
    seen += ids(second)
    last = search(
        sandbox,
        token,
        paginationToken=second.json()["pagination"]["nextToken"],
        **criteria,
    )
    seen += ids(last)
    assert "pagination" not in last.json()  # "absent from the response"
    assert seen == created  # each once, oldest first

    # Any other parameter changed: the token is refused.
    changed = search(
        sandbox,
        token,
        paginationToken=next_token,
        lastUpdatedAfter=iso(sandbox.clock.utcnow() - datetime.timedelta(hours=1)),
        marketplaceIds=MARKETPLACE,
    )
    assert error(changed)["code"] == "InvalidInput"
    dropped = search(sandbox, token, paginationToken=next_token, lastUpdatedAfter=start)
    assert error(dropped)["code"] == "InvalidInput"
    unknown = search(sandbox, token, paginationToken="not-a-token", **criteria)
    assert error(unknown)["code"] == "InvalidInput"
    # A token lives 24 hours.
    sandbox.clock.advance(24 * 3600 + 1)
    token = amazon_token(sandbox)  # the access token lived one hour
    expired = search(sandbox, token, paginationToken=next_token, **criteria)
    assert error(expired)["code"] == "InvalidInput"


def _bad_searches(now):
    hour_ago = iso(now - datetime.timedelta(hours=1))
    return {
        "neither after": {"marketplaceIds": MARKETPLACE},
        "only a before": {"lastUpdatedBefore": hour_ago},
        "both afters": {"createdAfter": hour_ago, "lastUpdatedAfter": hour_ago},
        "created with updated before": {
            "createdAfter": hour_ago,
            "lastUpdatedBefore": iso(now - datetime.timedelta(minutes=5)),
        },
        "updated with created before": {
            "lastUpdatedAfter": hour_ago,
            "createdBefore": iso(now - datetime.timedelta(minutes=5)),
        },
        "before precedes after": {
            "lastUpdatedAfter": hour_ago,
            "lastUpdatedBefore": iso(now - datetime.timedelta(hours=2)),
        },
        "before too recent": {
            "lastUpdatedAfter": hour_ago,
            "lastUpdatedBefore": iso(now - datetime.timedelta(seconds=30)),
        },
        "not a date": {"lastUpdatedAfter": "yesterday"},
        "no offset": {"lastUpdatedAfter": "2026-02-11T01:00:00"},
        "date only": {"createdAfter": "2026-02-11"},
        "impossible date": {"lastUpdatedAfter": "2026-02-30T01:00:00Z"},
        "empty": {"lastUpdatedAfter": ""},
        "page size 0": {"lastUpdatedAfter": hour_ago, "maxResultsPerPage": "0"},
        "page size 101": {"lastUpdatedAfter": hour_ago, "maxResultsPerPage": "101"},
        "page size text": {"lastUpdatedAfter": hour_ago, "maxResultsPerPage": "ten"},
        "status": {"lastUpdatedAfter": hour_ago, "fulfillmentStatuses": "Shipped"},
        "fulfilled by": {"lastUpdatedAfter": hour_ago, "fulfilledBy": "MFN"},
        "dataset": {"lastUpdatedAfter": hour_ago, "includedData": "ITEMS"},
        "marketplace": {"lastUpdatedAfter": hour_ago, "marketplaceIds": "XYZ"},
        "51 marketplaces": {
            "lastUpdatedAfter": hour_ago,
            "marketplaceIds": ",".join([MARKETPLACE] * 51),
        },
    }


@pytest.mark.parametrize("case", sorted(_bad_searches(datetime.datetime.now())))
def test_bad_search_parameters_are_400_invalid_input(sandbox, case):
    token = amazon_token(sandbox)
    params = _bad_searches(sandbox.clock.utcnow())[case]

    response = search(sandbox, token, **params)

    assert error(response)["code"] == "InvalidInput"
    assert response.headers["x-amzn-RateLimit-Limit"] == "0.0056"


def test_marketplace_of_another_region_is_403(sandbox):
    token = amazon_token(sandbox)
    hour_ago = iso(sandbox.clock.utcnow() - datetime.timedelta(hours=1))
    response = search(sandbox, token, lastUpdatedAfter=hour_ago, marketplaceIds=GERMANY)
    assert error(response, 403)["code"] == "Unauthorized"
    eu = requests.get(
        sandbox.amazon_url("eu") + SEARCH,
        params={"lastUpdatedAfter": hour_ago, "marketplaceIds": GERMANY},
        headers={"x-amz-access-token": token},
        timeout=TIMEOUT,
    )
    assert eu.status_code == 200, eu.text


def test_search_is_throttled_after_a_burst_of_20_per_seller(sandbox):
    token = amazon_token(sandbox)
    other_seller = amazon_token(sandbox, "Atzr|another-seller")
    sandbox.clock.freeze()
    hour_ago = iso(sandbox.clock.utcnow() - datetime.timedelta(hours=1))

    answers = [search(sandbox, token, lastUpdatedAfter=hour_ago) for _ in range(21)]

    assert [a.status_code for a in answers] == [200] * 20 + [429]
    assert answers[0].headers["x-amzn-RateLimit-Limit"] == "0.0056"
    assert error(answers[-1], 429)["code"] == "QuotaExceeded"
    assert "x-amzn-RateLimit-Limit" not in answers[-1].headers
    assert search(sandbox, other_seller, lastUpdatedAfter=hour_ago).status_code == 200
    sandbox.clock.advance(1 / 0.0056 + 0.01)  # one token back after ~179 s
    assert search(sandbox, token, lastUpdatedAfter=hour_ago).status_code == 200
    assert search(sandbox, token, lastUpdatedAfter=hour_ago).status_code == 429


# ------------------------------------------------------------ eBay, by ids


def ebay_access_token(sandbox):
    response = requests.post(
        sandbox.url + "/identity/v1/oauth2/token",
        data={"grant_type": "refresh_token", "refresh_token": "v^1.1#batch"},
        auth=("app", "cert"),
        timeout=TIMEOUT,
    )
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def add_ebay_orders(sandbox, count):
    order_ids = [f"20-{number:05d}-00001" for number in range(count)]
    for number, order_id in enumerate(order_ids):
        sandbox.add_ebay_order(
            order_id,
            line_items=[{"quantity": 1, "item_id": f"3{number:011d}"}],
        )
    return order_ids


def get_orders(sandbox, token, order_ids, pagination=""):
    inner = "".join(f"<OrderID>{i}</OrderID>" for i in order_ids)
    body = (
        f'<?xml version="1.0" encoding="utf-8"?><GetOrdersRequest xmlns="{NS}">'
        f"<OrderIDArray>{inner}</OrderIDArray>{pagination}</GetOrdersRequest>"
    )
    response = requests.post(
        sandbox.url + "/ws/api.dll",
        data=body.encode(),
        headers={
            "X-EBAY-API-CALL-NAME": "GetOrders",
            "X-EBAY-API-SITEID": "0",
            "X-EBAY-API-COMPATIBILITY-LEVEL": "1451",
            "X-EBAY-API-IAF-TOKEN": token,
            "Content-Type": "text/xml",
        },
        timeout=TIMEOUT,
    )
    assert response.status_code == 200
    return etree.fromstring(response.content)


def test_trading_get_orders_takes_at_most_100_order_ids(sandbox):
    token = ebay_access_token(sandbox)
    known = add_ebay_orders(sandbox, 100)
    page = "<Pagination><EntriesPerPage>100</EntriesPerPage></Pagination>"

    root = get_orders(sandbox, token, known, page)
    assert root.findtext("e:Ack", namespaces=X) == "Success"
    assert len(root.findall("e:OrderArray/e:Order", X)) == 100
    assert root.findtext("e:HasMoreOrders", namespaces=X) == "false"

    refused = get_orders(sandbox, token, [*known, "20-99999-00001"], page)
    assert refused.findtext("e:Ack", namespaces=X) == "Failure"
    assert refused.findtext("e:Errors/e:ErrorCode", namespaces=X) == "37"
    assert refused.find("e:OrderArray", X) is None


def test_trading_get_orders_leaves_unknown_ids_out_and_pages_by_25(sandbox):
    token = ebay_access_token(sandbox)
    known = add_ebay_orders(sandbox, 30)

    root = get_orders(sandbox, token, ["20-99999-00001", *known])

    assert root.findtext("e:Ack", namespaces=X) == "Success"
    returned = root.findall("e:OrderArray/e:Order/e:OrderID", X)
    assert [e.text for e in returned] == known[:25]  # EntriesPerPage default 25
    assert root.findtext("e:HasMoreOrders", namespaces=X) == "true"


def test_rest_get_orders_takes_at_most_50_ids_and_warns_of_unknown(sandbox):
    token = ebay_access_token(sandbox)
    known = add_ebay_orders(sandbox, 50)

    def get(order_ids):
        return requests.get(
            sandbox.url + "/sell/fulfillment/v1/order",
            params={"orderIds": ",".join(order_ids)},
            headers={"Authorization": f"Bearer {token}"},
            timeout=TIMEOUT,
        )

    ok = get(known)
    assert ok.status_code == 200
    assert [o["orderId"] for o in ok.json()["orders"]] == known
    assert "warnings" not in ok.json()

    too_many = get([*known, "20-99999-00001"])
    assert too_many.status_code == 400
    assert too_many.json()["errors"][0]["errorId"] == 30900

    mixed = get(["20-99999-00001", known[0]])
    assert mixed.status_code == 200
    assert [o["orderId"] for o in mixed.json()["orders"]] == [known[0]]
    (warning,) = mixed.json()["warnings"]
    assert warning["errorId"] == 32100
    assert warning["parameters"] == [{"name": "orderId", "value": "20-99999-00001"}]
