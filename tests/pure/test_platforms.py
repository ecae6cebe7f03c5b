"""The platform registry: what each marketplace names, and that an unknown
platform is an error, never another platform."""

import dataclasses

import pytest

from marketplaces import amazon as amazon_module
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


def test_an_unset_choice_is_the_default_write_back_api():
    """A platform offering a choice takes its "default" API when the account
    has not chosen; eBay has none, so an eBay account must choose."""
    trading = platforms.EBAY.writeback_apis["trading"]
    rest = platforms.EBAY.writeback_apis["fulfillment"]
    with_default = dataclasses.replace(
        platforms.EBAY, writeback_apis={"default": trading, "fulfillment": rest}
    )
    for unset in (False, None, ""):
        account = ebay_account(ebay_api=unset)
        assert with_default.writeback_api(account) is trading
        with pytest.raises(platforms.UnknownPlatform, match="no write-back API"):
            platforms.EBAY.writeback_api(account)
    assert with_default.writeback_api(ebay_account(ebay_api="fulfillment")) is rest


def test_every_api_of_a_platform_has_a_client_and_a_label():
    """Status probes and the catalog call an API that may be no write-back
    API of the account: each API key of a platform gets a client."""
    for kind in (
        base.API_AMAZON_PRODUCTS,  # the catalog
        base.API_AMAZON_WRITEBACK,
        base.API_AMAZON_ORDERS,  # the read-back
    ):
        assert platforms.AMAZON.client_class(kind) is AmazonClient
    assert platforms.EBAY.client_class(base.API_EBAY_TRADING) is EbayTradingClient
    assert platforms.EBAY.client_class(base.API_EBAY_FULFILLMENT) is (
        EbayFulfillmentClient
    )
    # An API the platform lists that is neither a write-back API nor the
    # catalog (a status row only) is still probed with the platform's client.
    no_catalog = dataclasses.replace(platforms.AMAZON, catalog_api=None)
    assert no_catalog.client_class(base.API_AMAZON_PRODUCTS) is AmazonClient
    assert platforms.AMAZON.api_label(base.API_AMAZON_ORDERS) == "Amazon Orders API"
    assert platforms.EBAY.api_label(base.API_EBAY_FULFILLMENT) == (
        "eBay Fulfillment API"
    )


def test_the_models_client_options_reach_the_client():
    """What the models pass beside the account (journal, timeouts,
    endpoints) reaches every client the registry builds."""
    journal = []
    common = {
        "environment": "sandbox",
        "timeout": (7, 30),
        "on_call": journal.append,
        "allow_http_loopback": True,
    }
    for platform, account in (
        (platforms.AMAZON, amazon_account()),
        (platforms.EBAY, ebay_account()),
        (platforms.EBAY, ebay_account(ebay_api="fulfillment")),
    ):
        for kind in ("writeback", *platform.api_keys()):
            client = platform.client_for(account, kind, **common)
            assert client.on_call == journal.append
            assert client.timeout == (7.0, 30.0)
            assert "sandbox" in client.api_base_url


def test_credentials_go_to_the_client_as_entered_and_unset_ones_empty():
    """An Odoo record reads an unset Char field as False: the clients get
    '' (their own checks name what is missing), an unset region None (the
    client then takes the marketplace's)."""
    assert platforms.AMAZON.client_kwargs(amazon_account()) == {
        "client_id": "amzn1.application-oa2-client.1",
        "client_secret": "secret",
        "refresh_token": "Atzr|refresh",
        "marketplace_id": "A1PA6795UKMFR9",
        "region": "eu",
    }
    unset = amazon_account(
        lwa_client_id=False,
        lwa_client_secret=False,
        lwa_refresh_token=False,
        amazon_marketplace_id=False,
        amazon_region=False,
    )
    assert platforms.AMAZON.client_kwargs(unset) == {
        "client_id": "",
        "client_secret": "",
        "refresh_token": "",
        "marketplace_id": "",
        "region": None,
    }
    assert platforms.EBAY.client_kwargs(ebay_account()) == {
        "client_id": "App-1",
        "client_secret": "cert",
        "dev_id": "dev",
        "refresh_token": "v^1.1#refresh",
        "site_id": 3,
    }
    unset = ebay_account(
        ebay_client_id=False,
        ebay_client_secret=False,
        ebay_dev_id=False,
        ebay_refresh_token=False,
    )
    assert platforms.EBAY.client_kwargs(unset) == {
        "client_id": "",
        "client_secret": "",
        "dev_id": "",
        "refresh_token": "",
        "site_id": 3,
    }


def test_amazon_region_of_a_marketplace_id():
    assert platforms.region_of("A1PA6795UKMFR9") == "eu"  # amazon.de
    assert platforms.region_of(" ATVPDKIKX0DER ") == "na"  # amazon.com, pasted
    assert platforms.region_of("A1VC38T7YXB528") == "fe"  # amazon.co.jp
    for unknown in ("XXXX", "", False, None):
        assert platforms.region_of(unknown) is None


def test_tracking_numbers_as_each_api_takes_them():
    number = "1Z999-AA1 0123456784"
    amazon = platforms.AMAZON.writeback_api(amazon_account())
    rest = platforms.EBAY.writeback_api(ebay_account(ebay_api="fulfillment"))
    trading = platforms.EBAY.writeback_api(ebay_account(ebay_api="trading"))
    assert amazon.normalise_tracking(number) == number
    assert rest.normalise_tracking(number) == "1Z999AA10123456784"
    # Trading too: "only supports alphanumeric characters" (issue 18).
    assert trading.normalise_tracking("1Z999-AA1 01 23456784") == ("1Z999AA10123456784")


def test_every_marketplace_has_its_own_seller_central():
    hosts = {
        mid: platforms.seller_central_host(mid) for mid in amazon_module.MARKETPLACES
    }
    assert len(set(hosts.values())) == len(hosts)
    assert hosts["A1PA6795UKMFR9"] == "https://sellercentral.amazon.de"
    assert hosts["A1F83G8C2ARO7P"] == "https://sellercentral.amazon.co.uk"
    assert hosts["ATVPDKIKX0DER"] == "https://sellercentral.amazon.com"


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
    # The Seller Central of the account's marketplace (Amazon.de) ...
    assert platforms.AMAZON.order_url(amazon_account(), "902-1106328-1059050") == (
        "https://sellercentral.amazon.de/orders-v3/order/902-1106328-1059050"
    )
    # ... or of the one the order was placed on (pan-European selling).
    assert platforms.AMAZON.order_url(
        amazon_account(), "902-1106328-1059050", "A13V1IB3VIYZZH"
    ) == ("https://sellercentral.amazon.fr/orders-v3/order/902-1106328-1059050")
    # A marketplace Amazon does not list: the region's Seller Central.
    unlisted = amazon_account(amazon_marketplace_id="AXXXXXXXXXXXX")
    assert platforms.AMAZON.order_url(unlisted, "902-1106328-1059050") == (
        "https://sellercentral-europe.amazon.com/orders-v3/order/902-1106328-1059050"
    )
    assert platforms.EBAY.order_url(ebay_account(), "12-1") == (
        "https://sandbox.ebay.com/sh/ord/details?orderid=12-1"
    )
    # The seller's own pages: production accounts open the live site, an
    # Amazon account without a region North America's Seller Central.
    production = ebay_account(environment="production")
    assert platforms.EBAY.order_url(production, "12-1") == (
        "https://www.ebay.com/sh/ord/details?orderid=12-1"
    )
    for region in (False, "na"):
        account = amazon_account(amazon_region=region, amazon_marketplace_id=False)
        assert platforms.AMAZON.order_url(account, "902-1106328-1059050") == (
            "https://sellercentral.amazon.com/orders-v3/order/902-1106328-1059050"
        )
    assert platforms.AMAZON.order_ref_problem(False) == "902-1106328-1059050"


def test_every_api_key_belongs_to_one_platform():
    keys = [key for key, _label in platforms.API_SELECTION]
    assert len(keys) == len(set(keys))
    assert {k for p in platforms.PLATFORMS.values() for k in p.api_keys()} == set(keys)
    for platform in platforms.PLATFORMS.values():
        for api in platform.writeback_apis.values():
            assert {api.key, api.read_key} <= set(platform.api_keys())


def test_a_platform_without_a_catalog_has_no_catalog_client():
    """eBay has no catalog: asking for one is an error, not its Trading
    client."""
    with pytest.raises(platforms.UnknownPlatform):
        platforms.EBAY.client_class(platforms.EBAY.catalog_api)
