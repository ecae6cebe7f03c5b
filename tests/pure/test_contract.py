"""Every client keeps the one client contract, with the same signatures."""

import inspect

import pytest

from marketplaces import contract
from marketplaces.amazon import AmazonClient
from marketplaces.ebay_fulfillment import EbayFulfillmentClient
from marketplaces.ebay_trading import EbayTradingClient

CLIENTS = [AmazonClient, EbayTradingClient, EbayFulfillmentClient]
METHODS = [
    "confirm_shipment",
    "read_order",
    "read_orders",
    "probe",
    "request_count",
    "sends_within",
    "send_delay",
    "reads_within",
    "changed_orders",
]


@pytest.mark.parametrize("client_class", CLIENTS)
def test_client_keeps_the_contract(client_class):
    for name in METHODS:
        expected = inspect.signature(getattr(contract.MarketplaceClient, name))
        actual = inspect.signature(getattr(client_class, name))
        assert list(actual.parameters) == list(expected.parameters), name
        for param, spec in expected.parameters.items():
            has_default = spec.default is not inspect.Parameter.empty
            assert (
                actual.parameters[param].default is not inspect.Parameter.empty
            ) == has_default, f"{client_class.__name__}.{name}({param})"


def test_client_instances_are_marketplace_clients():
    client = EbayTradingClient(
        client_id="app",
        client_secret="secret",
        refresh_token="refresh",
        dev_id="dev",
        environment="sandbox",
    )
    assert isinstance(client, contract.MarketplaceClient)
    assert not isinstance(object(), contract.MarketplaceClient)


@pytest.mark.parametrize("client_class", CLIENTS)
def test_client_declares_its_read_batch_size(client_class):
    assert "read_batch_size" in contract.MarketplaceClient.__annotations__
    size = client_class.read_batch_size
    assert isinstance(size, int) and size > 1
