"""One SP-API host per Amazon region.

Endpoints (notes amazon-sp-api.md §4): NA (CA, US, MX, BR), EU (IE, ES, UK,
FR, BE, NL, DE, IT, SE, ZA, PL, SA, EG, TR, AE, IN), FE (SG, AU, JP). The
sandbox opens one port per region next to its main port; the main port
serves everything and counts as the NA host. Login with Amazon is global.
"""

import json
import socket
import subprocess
import sys
import time

import pytest
import requests
from test_sandbox import (
    REPO_ROOT,
    STATIC_CONFIRMATION,
    TIMEOUT,
    amazon_token,
    confirmation,
    first_error,
)

from sandbox import regions
from sandbox.server import SandboxServer

US, DE, JP = "ATVPDKIKX0DER", "A1PA6795UKMFR9", "A1VC38T7YXB528"
EU_ORDER = "302-1234567-7654321"
ITEM = "79039765272157"


@pytest.fixture
def eu_order(sandbox):
    return sandbox.add_amazon_order(
        EU_ORDER,
        marketplace_id=DE,
        items=[{"order_item_id": ITEM, "quantity": 2, "asin": "B07N4M94X4"}],
    )


def get_order(base_url, token, order_id=EU_ORDER):
    return requests.get(
        f"{base_url}/orders/2026-01-01/orders/{order_id}",
        params={"includedData": "PACKAGES"},
        headers={"x-amz-access-token": token},
        timeout=TIMEOUT,
    )


def confirm(base_url, token, body, order_id=EU_ORDER):
    return requests.post(
        f"{base_url}/orders/v0/orders/{order_id}/shipmentConfirmation",
        json=body,
        headers={"x-amz-access-token": token},
        timeout=TIMEOUT,
    )


def lwa(base_url):
    response = requests.post(
        base_url + "/auth/o2/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": "Atzr|r",
            "client_id": "c",
            "client_secret": "s",
        },
        timeout=TIMEOUT,
    )
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def test_one_port_per_region(sandbox):
    urls = sandbox.amazon_region_urls

    assert set(urls) == {"na", "eu", "fe"}
    assert len({*urls.values(), sandbox.url}) == 4
    assert all(url.startswith("http://127.0.0.1:") for url in urls.values())
    assert sandbox.amazon_url("eu") == urls["eu"]
    assert sandbox.amazon_url() == urls["na"]
    with pytest.raises(ValueError):
        sandbox.amazon_url("us")


def test_lwa_is_global(sandbox, eu_order):
    tokens = [lwa(url) for url in (sandbox.url, *sandbox.amazon_region_urls.values())]

    for token in tokens:  # any port's token works on any regional host
        assert get_order(sandbox.amazon_url("eu"), token).status_code == 200


def test_orders_live_in_their_region(sandbox, eu_order):
    token = amazon_token(sandbox)

    assert get_order(sandbox.amazon_url("eu"), token).status_code == 200
    for url in (sandbox.url, sandbox.amazon_url("na"), sandbox.amazon_url("fe")):
        response = get_order(url, token)
        assert response.status_code == 404
        assert first_error(response)["code"] == "NotFound"
    logged = sandbox.requests("amazon.getOrder")
    assert [e["amazon_region"] for e in logged] == ["eu", "na", "na", "fe"]


def test_confirm_shipment_in_the_orders_region(sandbox, eu_order):
    token = amazon_token(sandbox)
    body = confirmation()
    body["marketplaceId"] = DE

    assert confirm(sandbox.amazon_url("eu"), token, body).status_code == 204
    assert len(sandbox.amazon_order(EU_ORDER)["packages"]) == 1


@pytest.mark.parametrize("host", ["main", "na", "fe"])
def test_marketplace_of_another_region_is_refused(sandbox, eu_order, host):
    token = amazon_token(sandbox)
    url = sandbox.url if host == "main" else sandbox.amazon_url(host)
    body = confirmation()
    body["marketplaceId"] = DE

    response = confirm(url, token, body)

    assert response.status_code == 400
    error = first_error(response)
    assert error["code"] == "InvalidInput"
    assert "not served by this region's endpoint" in error["message"]
    assert DE in error["message"]
    assert sandbox.amazon_order(EU_ORDER)["packages"] == []


def test_order_of_another_region_is_not_found_with_a_local_marketplace(
    sandbox, eu_order
):
    token = amazon_token(sandbox)

    response = confirm(sandbox.url, token, confirmation())  # US marketplace

    assert response.status_code == 404
    assert first_error(response)["code"] == "NotFound"


def test_us_order_is_served_on_main_and_na_hosts_only(sandbox):
    sandbox.add_amazon_order(
        "902-1106328-1059050", items=[{"order_item_id": ITEM, "quantity": 2}]
    )
    token = amazon_token(sandbox)
    for url, status in [
        (sandbox.url, 204),
        (sandbox.amazon_url("na"), 204),
        (sandbox.amazon_url("eu"), 400),  # the US marketplace is not EU's
    ]:
        body = confirmation(reference=str(status))
        response = confirm(url, token, body, order_id="902-1106328-1059050")
        assert response.status_code == status, response.text
    assert (
        get_order(sandbox.amazon_url("eu"), token, "902-1106328-1059050").status_code
        == 404
    )


def catalog(base_url, token, marketplaces):
    return requests.get(
        f"{base_url}/catalog/2022-04-01/items/B07N4M94X4",
        params={"marketplaceIds": marketplaces},
        headers={"x-amz-access-token": token},
        timeout=TIMEOUT,
    )


def test_catalog_marketplaces_of_another_region_are_refused(sandbox):
    sandbox.add_catalog_item("B07N4M94X4", marketplace_id=DE, title="TV")
    sandbox.add_catalog_item("B07N4M94X4", marketplace_id=US, title="TV")
    token = amazon_token(sandbox)
    sandbox.clock.freeze()

    assert catalog(sandbox.amazon_url("eu"), token, DE).status_code == 200
    sandbox.clock.advance(1)
    for url, marketplaces in [
        (sandbox.url, DE),
        (sandbox.amazon_url("na"), f"{US},{DE}"),
        (sandbox.amazon_url("fe"), JP + "," + DE),
        (sandbox.amazon_url("eu"), "NOT-A-MARKETPLACE"),
    ]:
        response = catalog(url, token, marketplaces)
        sandbox.clock.advance(1)
        assert response.status_code == 403
        # amzn/selling-partner-api-models#5126
        assert response.json() == {
            "errors": [
                {
                    "code": "Unauthorized",
                    "message": "Access to requested resource is denied.",
                    "details": "The marketplaces you provided are not valid for "
                    "region.",
                }
            ]
        }
    assert catalog(sandbox.url, token, US).status_code == 200


def test_regional_hosts_serve_amazon_only(sandbox):
    url = sandbox.amazon_url("eu")
    assert (
        requests.get(url + "/sell/fulfillment/v1/order", timeout=TIMEOUT).status_code
        == 404
    )
    assert requests.post(url + "/ws/api.dll", timeout=TIMEOUT).status_code == 404
    assert requests.get(url + "/_sandbox/state", timeout=TIMEOUT).status_code == 404
    assert requests.get(sandbox.url + "/_sandbox/state", timeout=TIMEOUT).ok


def test_every_documented_marketplace_has_its_region():
    by_region = {}
    for marketplace_id, (region, country, _name) in regions.MARKETPLACES.items():
        by_region.setdefault(region, set()).add(country)
        assert regions.region_of(marketplace_id) == region
    assert by_region == {
        "na": {"CA", "US", "MX", "BR"},
        "eu": {
            "IE", "ES", "GB", "FR", "BE", "NL", "DE", "IT",
            "SE", "ZA", "PL", "SA", "EG", "TR", "AE", "IN",
        },
        "fe": {"SG", "AU", "JP"},
    }  # fmt: skip
    assert regions.MARKETPLACES[DE][:2] == ("eu", "DE")
    assert regions.MARKETPLACES[JP][:2] == ("fe", "JP")


def test_orders_and_catalog_need_a_documented_marketplace(sandbox):
    with pytest.raises(ValueError, match="marketplace"):
        sandbox.add_amazon_order(
            EU_ORDER, marketplace_id="AXXXXXXXXXXXX", items=[{"order_item_id": "1"}]
        )
    with pytest.raises(ValueError, match="marketplace"):
        sandbox.add_catalog_item("B07N4M94X4", marketplace_id="AXXXXXXXXXXXX")


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_region_ports_can_be_chosen():
    port = _free_port()
    with SandboxServer(amazon_region_ports={"fe": port}) as server:
        assert server.amazon_url("fe") == f"http://127.0.0.1:{port}"
        assert lwa(server.amazon_url("fe"))
    with pytest.raises(ValueError):
        SandboxServer(amazon_region_ports={"sa": 0})


def test_stop_frees_every_port():
    server = SandboxServer().start()
    ports = [int(url.rsplit(":", 1)[1]) for url in server.amazon_region_urls.values()]
    server.stop()
    for port in ports:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", port))


def test_cli_refuses_a_malformed_region_port():
    from sandbox.__main__ import main

    assert main(["--port", "0", "--amazon-port", "eu"]) == 2
    assert main(["--port", "0", "--amazon-port", "mars=1"]) == 2


def test_cli_prints_the_region_urls(tmp_path):
    seed = {
        "amazon_orders": [
            {
                "order_id": EU_ORDER,
                "marketplace_id": DE,
                "items": [{"order_item_id": ITEM, "quantity": 1}],
            }
        ]
    }
    seed_file = tmp_path / "seed.json"
    seed_file.write_text(json.dumps(seed))
    eu_port = _free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sandbox",
            "--port",
            "0",
            "--seed",
            str(seed_file),
            "--amazon-port",
            f"eu={eu_port}",
        ],
        cwd=REPO_ROOT,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        urls, deadline = {}, time.monotonic() + TIMEOUT
        while len(urls) < 4 and time.monotonic() < deadline:
            line = process.stderr.readline()
            if "listening on " in line:
                urls["main"] = line.rsplit("listening on ", 1)[1].strip()
            elif "Amazon SP-API region " in line:
                region, url = line.split("Amazon SP-API region ", 1)[1].split(" at ")
                urls[region] = url.strip()
        assert set(urls) == {"main", "na", "eu", "fe"}
        assert urls["eu"] == f"http://127.0.0.1:{eu_port}"
        token = lwa(urls["main"])
        assert get_order(urls["eu"], token).status_code == 200
        assert get_order(urls["main"], token).status_code == 404
    finally:
        process.terminate()
        process.wait(timeout=TIMEOUT)


def test_static_sandbox_example_still_works_on_the_main_port(sandbox):
    sandbox.add_amazon_order(
        "902-1106328-1059050", items=[{"order_item_id": ITEM, "quantity": 1}]
    )
    response = confirm(
        sandbox.url, amazon_token(sandbox), STATIC_CONFIRMATION, "902-1106328-1059050"
    )
    assert response.status_code == 204
