"""eBay OAuth scopes: a refresh token has a consent, access tokens carry
the scopes they were granted, and each API checks its own.

- Refresh grant: "The requested scope MUST NOT include any scope not
  originally granted by the resource owner" (RFC 6749 §6); eBay answers
  ``invalid_scope`` (notes ebay-api.md §2.4).
- Sell Fulfillment: createShippingFulfillment needs sell.fulfillment, the
  reads sell.fulfillment or sell.fulfillment.readonly (OAS security); a
  missing scope is 403 with an ACCESS error 1100.
- Trading needs the base scope https://api.ebay.com/oauth/api_scope.
"""

import pytest
import requests
from test_sandbox import (
    TIMEOUT,
    ack,
    ebay_token,
    error_code,
    first_error,
    fulfillment,
    rest,
    trading,
)

ORDER = "12-34567-89012"
LINE = "110012345678-0"
BASE = "https://api.ebay.com/oauth/api_scope"
WRITE = BASE + "/sell.fulfillment"
READ = WRITE + ".readonly"
REFRESH = "v^1.1#test-refresh"


@pytest.fixture
def order(sandbox):
    sandbox.add_ebay_order(
        ORDER,
        line_items=[{"line_item_id": LINE, "quantity": 1, "item_id": "110012345678"}],
        created_time="2026-01-01T00:00:00Z",  # before the ship dates
    )


def token_for(sandbox, *scopes, refresh_token=REFRESH):
    form = {"scope": " ".join(scopes)} if scopes else {}
    response = ebay_token(sandbox, refresh_token=refresh_token, **form)
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


ACCESS_DENIED = {
    "errorId": 1100,
    "domain": "ACCESS",
    "category": "REQUEST",
    "message": "Access denied",
    "longMessage": "Insufficient permissions to fulfill the request.",
}


def test_default_consent_is_every_known_scope(sandbox, order):
    token = token_for(sandbox, BASE, WRITE, READ)

    assert rest(sandbox, "GET", f"/order/{ORDER}", token).ok
    _r, root = trading(sandbox, "GetOrders", "<NumberOfDays>1</NumberOfDays>", token)
    assert ack(root) == "Success"


def test_grant_outside_the_consent_is_invalid_scope(sandbox, order):
    result = sandbox.set_ebay_consent(REFRESH, [BASE, READ])
    assert result == {"refresh_token": REFRESH, "scopes": sorted([BASE, READ])}

    response = ebay_token(sandbox, refresh_token=REFRESH, scope=f"{BASE} {WRITE}")

    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "invalid_scope"
    assert body["error_description"]
    assert sandbox.requests("ebay.token")[-1]["status"] == 400
    # Within the consent: granted; a made-up scope never is.
    assert ebay_token(sandbox, refresh_token=REFRESH, scope=READ).ok
    made_up = ebay_token(sandbox, scope=BASE + "/sell.everything")
    assert made_up.json()["error"] == "invalid_scope"
    # Another refresh token keeps the default consent.
    assert ebay_token(sandbox, refresh_token="v^1.1#other", scope=WRITE).ok


def test_grant_without_scope_gets_the_consent(sandbox, order):
    sandbox.set_ebay_consent(REFRESH, [BASE, READ])
    token = token_for(sandbox)

    assert rest(sandbox, "GET", f"/order/{ORDER}", token).ok
    path = f"/order/{ORDER}/shipping_fulfillment"
    denied = rest(sandbox, "POST", path, token, json=fulfillment([(LINE, 1)]))
    assert denied.status_code == 403
    assert first_error(denied) == ACCESS_DENIED
    sandbox.set_ebay_consent(REFRESH, None)  # back to the default
    assert rest(
        sandbox, "POST", path, token_for(sandbox), json=fulfillment([(LINE, 1)])
    ).ok


@pytest.mark.parametrize(
    ("scopes", "read", "write"),
    [
        ((BASE, WRITE), 200, 201),
        ((READ,), 200, 403),
        ((BASE,), 403, 403),
    ],
)
def test_rest_checks_the_token_scopes(sandbox, order, scopes, read, write):
    token = token_for(sandbox, *scopes)
    path = f"/order/{ORDER}/shipping_fulfillment"

    reads = [
        rest(sandbox, "GET", f"/order/{ORDER}", token),
        rest(sandbox, "GET", "/order", token),
        rest(sandbox, "GET", path, token),
    ]
    created = rest(sandbox, "POST", path, token, json=fulfillment([(LINE, 1)]))

    assert [r.status_code for r in reads] == [read] * 3
    assert created.status_code == write
    for response in [*reads, created]:
        if response.status_code == 403:
            assert first_error(response) == ACCESS_DENIED
    assert len(sandbox.ebay_order(ORDER)["fulfillments"]) == (write == 201)


def test_trading_needs_the_base_scope(sandbox, order):
    token = token_for(sandbox, WRITE, READ)

    _r, root = trading(sandbox, "GetOrders", "<NumberOfDays>1</NumberOfDays>", token)

    assert (ack(root), error_code(root)) == ("Failure", "21916984")
    inner = f"<Shipped>true</Shipped><OrderID>{ORDER}</OrderID>"
    _r, root = trading(sandbox, "CompleteSale", inner, token)
    assert error_code(root) == "21916984"
    assert sandbox.ebay_order(ORDER)["shipped_time"] is None


def test_consent_over_http(sandbox, order):
    control = sandbox.url + "/_sandbox/ebay/consent"
    response = requests.post(
        control, json={"refresh_token": REFRESH, "scopes": [READ]}, timeout=TIMEOUT
    )
    assert response.json() == {"refresh_token": REFRESH, "scopes": [READ]}
    assert ebay_token(sandbox, scope=BASE).json()["error"] == "invalid_scope"
    bad = requests.post(
        control, json={"refresh_token": REFRESH, "scopes": "x"}, timeout=TIMEOUT
    )
    assert bad.status_code == 400
    sandbox.reset()  # consents are state: reset forgets them
    assert ebay_token(sandbox, scope=BASE).ok
