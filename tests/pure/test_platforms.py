"""The platform registry: what each marketplace names, and that an unknown
platform is an error, never another platform."""

import pytest

from marketplaces import base, platforms
from marketplaces.amazon import AmazonClient
from marketplaces.ebay_fulfillment import EbayFulfillmentClient
from marketplaces.ebay_trading import EbayTradingClient


class Account(dict):
    """An account as the registry reads it (item and attribute access, as
    an Odoo record allows)."""

    __getattr__ = dict.get


def amazon_account(**values):
    return Account(
        {
            "platform": "amazon",
            "api_base_url": "",
            "environment": "production",
            "amazon_marketplace_id": "A1PA6795UKMFR9",
            "amazon_region": "eu",
            "lwa_client_id": "amzn1.application-oa2-client.1",
            "lwa_client_secret": "secret",
            "lwa_refresh_token": "Atzr|refresh",
        }
        | values
    )


def ebay_account(**values):
    return Account(
        {
            "platform": "ebay",
            "ebay_api": "trading",
            "api_base_url": "",
            "environment": "sandbox",
            "ebay_client_id": "App-1",
            "ebay_client_secret": "cert",
            "ebay_dev_id": "dev",
            "ebay_refresh_token": "v^1.1#refresh",
            "ebay_site_id": 3,
        }
        | values
    )


def test_unknown_platform_is_an_error_never_another_platform():
    with pytest.raises(platforms.UnknownPlatform, match="'etsy'"):
        platforms.get("etsy")
    with pytest.raises(platforms.UnknownPlatform):
        platforms.get(False)
    with pytest.raises(platforms.UnknownPlatform, match="no write-back API"):
        platforms.EBAY.writeback_api(ebay_account(ebay_api="carrier_pigeon"))
    with pytest.raises(platforms.UnknownPlatform, match="no API"):
        platforms.EBAY.client_class(base.API_AMAZON_ORDERS)


def test_each_account_gets_the_client_and_api_keys_of_its_write_back_api():
    common = {"on_call": None, "allow_http_loopback": False}
    client = platforms.AMAZON.client_for(amazon_account(), **common)
    assert isinstance(client, AmazonClient)
    assert (client.marketplace_id, client.region) == ("A1PA6795UKMFR9", "eu")
    api = platforms.AMAZON.writeback_api(amazon_account())
    assert (api.key, api.read_key) == (
        base.API_AMAZON_WRITEBACK,
        base.API_AMAZON_ORDERS,
    )

    trading, rest = ebay_account(), ebay_account(ebay_api="fulfillment")
    assert isinstance(platforms.EBAY.client_for(trading, **common), EbayTradingClient)
    assert isinstance(platforms.EBAY.client_for(rest, **common), EbayFulfillmentClient)
    # A status probe of the other API uses that API's client.
    probe = platforms.EBAY.client_for(trading, base.API_EBAY_FULFILLMENT, **common)
    assert isinstance(probe, EbayFulfillmentClient)
    assert platforms.EBAY.writeback_api(rest).key == base.API_EBAY_FULFILLMENT


def test_tracking_numbers_as_each_api_takes_them():
    number = "1Z999-AA1 0123456784"
    amazon = platforms.AMAZON.writeback_api(amazon_account())
    rest = platforms.EBAY.writeback_api(ebay_account(ebay_api="fulfillment"))
    assert amazon.normalise_tracking(number) == number
    assert rest.normalise_tracking(number) == "1Z999AA10123456784"


def test_line_ids_go_in_the_field_of_their_api():
    assert platforms.EBAY.line_id_field_for("110551234567-0") == (
        "ebay_order_line_item_id"
    )
    assert platforms.EBAY.line_id_field_for("10000000000001") == "ebay_line_item_id"
    assert platforms.AMAZON.line_id_field_for("12345678901234") == (
        "amazon_order_item_id"
    )
    assert set(platforms.LINE_ID_FIELDS) == {
        "amazon_order_item_id",
        "ebay_order_line_item_id",
        "ebay_line_item_id",
    }


def test_one_seller_per_authorization():
    """The clients of two marketplaces of one seller are one seller (one
    pacing bucket, one queue channel); another refresh token or another
    endpoint is another."""
    common = {"on_call": None, "allow_http_loopback": True}

    def seller(account):
        return (
            platforms.get(account["platform"]).client_for(account, **common).seller_key
        )

    us = amazon_account(amazon_marketplace_id="ATVPDKIKX0DER", amazon_region="na")
    ca = amazon_account(amazon_marketplace_id="A2EUQ1WTGCTBG2", amazon_region="na")
    other = amazon_account(lwa_refresh_token="Atzr|another-seller")
    sandbox = amazon_account(api_base_url="http://127.0.0.1:8765")
    assert seller(us) == seller(ca), "two marketplaces of one seller"
    assert seller(us) != seller(other)
    assert seller(us) != seller(sandbox), "another endpoint meters apart"
    assert seller(ebay_account()) != seller(us)


def test_order_references_and_pages():
    assert platforms.AMAZON.order_ref_problem("902-1106328-1059050") == ""
    assert platforms.AMAZON.order_ref_problem("9021106328") == "902-1106328-1059050"
    assert platforms.EBAY.order_ref_problem("12-00001-00001") == ""
    assert platforms.AMAZON.order_url(amazon_account(), "902-1106328-1059050") == (
        "https://sellercentral-europe.amazon.com/orders-v3/order/902-1106328-1059050"
    )
    assert platforms.EBAY.order_url(ebay_account(), "12-1") == (
        "https://sandbox.ebay.com/sh/ord/details?orderid=12-1"
    )


def test_every_api_key_belongs_to_one_platform():
    keys = [key for key, _label in platforms.API_SELECTION]
    assert len(keys) == len(set(keys))
    assert {k for p in platforms.PLATFORMS.values() for k in p.api_keys()} == set(keys)
    for platform in platforms.PLATFORMS.values():
        for api in platform.writeback_apis.values():
            assert {api.key, api.read_key} <= set(platform.api_keys())
