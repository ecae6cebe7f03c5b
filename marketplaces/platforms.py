"""The platform registry: everything the addon knows per marketplace, in one
table. Plain Python, no Odoo import.

The models never branch on a platform's name: they look the account's
platform up here (:func:`get`) and use what its entry names, the client and
the API keys, the carrier-code field, the line-id fields, the credentials,
the order URL, the validation rules (by API key, in
:mod:`.validate`) and the tracking normaliser. An unknown platform is an
error (:class:`UnknownPlatform`), never "the other one".

Adding a marketplace (see README, *Adding a marketplace*): one client module
implementing :class:`~.contract.MarketplaceClient`, one :class:`Platform`
entry here (with its API keys in :mod:`.base` and its rules in
:mod:`.validate`), and its views (the account form's credentials page, the
carrier form's code field, the sales order line's id column). The fields an
entry names are added to their models beside it.
"""

import dataclasses
import re
from collections.abc import Callable

from . import amazon, base
from .amazon import AmazonClient
from .ebay_fulfillment import EbayFulfillmentClient, rest_tracking_number
from .ebay_trading import EbayTradingClient


class UnknownPlatform(ValueError):
    """An account names a platform this registry has no entry for."""


def _as_entered(number):
    return number


def _letters_and_digits(number):
    return rest_tracking_number(number)[0]


@dataclasses.dataclass(frozen=True)
class WritebackApi:
    """One API an account of a platform confirms shipments with (Amazon has
    one, eBay two: the account chooses)."""

    key: str  # the API key its calls are journaled under (a base.API_* key)
    read_key: str  # the API key of its read-back (getOrder, GetOrders...)
    client: type  # its MarketplaceClient class
    line_id_field: str  # sale.order.line field holding the line ids it sends
    # The shape of its line ids, when it tells them from the platform's
    # other APIs' (an id of that shape belongs in line_id_field).
    line_id_pattern: re.Pattern | None = None
    # The base.OrderLine attribute holding a line's id in this API.
    order_line_attr: str = "line_item_id"
    # The tracking number as this API takes it (as entered, or cleaned).
    normalise_tracking: Callable[[str], str] = _as_entered


@dataclasses.dataclass(frozen=True)
class Platform:
    """What one marketplace needs, by name (see the module docstring)."""

    key: str  # ecommerce.account.platform
    label: str
    # Every API key of the platform and its label, in display order (one
    # API Status row each).
    apis: tuple
    # The write-back APIs by choice value, and the account field holding
    # the choice (None: the platform has one write-back API, "default").
    writeback_apis: dict
    api_choice_field: str | None
    credential_fields: tuple  # account fields only administrators read
    # Account fields an active account must fill: (field, example).
    required_fields: tuple
    carrier_code_field: str  # delivery.carrier Many2one to its ecommerce.carrier.code
    # Every sale.order.line field holding an id of a line on this
    # marketplace; ``line_lookup``: missing ones are looked up on the
    # marketplace's order before a send (the binder).
    line_id_fields: tuple
    line_lookup: bool
    order_ref_pattern: re.Pattern | None  # None: any reference without spaces
    order_ref_example: str
    # (account, order reference, marketplace id or None) -> the seller's page
    order_url: Callable
    client_kwargs: Callable  # account -> the client's credentials
    catalog_api: str | None = None  # API key of its catalog, if it has one

    # -- lookups ------------------------------------------------------------

    def writeback_api(self, account):
        """The :class:`WritebackApi` ``account`` writes back with."""
        choice = account[self.api_choice_field] if self.api_choice_field else "default"
        try:
            return self.writeback_apis[choice or "default"]
        except KeyError:
            raise UnknownPlatform(
                f"{self.label} has no write-back API {choice!r}"
            ) from None

    def api_label(self, api_key):
        return dict(self.apis)[api_key]

    def api_keys(self):
        return tuple(key for key, _label in self.apis)

    def account_api_keys(self, account):
        """The API keys ``account`` calls, in display order: its write-back
        API, that API's read-back and the catalog. A platform with one
        write-back API uses all of its APIs; on eBay only the chosen API
        (a seller who consented to Trading alone is never checked on
        Fulfillment, and the other way round)."""
        if not self.api_choice_field:
            return self.api_keys()
        chosen = self.writeback_api(account)
        used = {chosen.key, chosen.read_key, self.catalog_api}
        return tuple(key for key in self.api_keys() if key in used)

    def line_id_field_for(self, value):
        """The line-id field a line id of this shape belongs in: the first
        write-back API whose pattern it matches, else the first one without
        a pattern (an eBay ``ItemID-TransactionID`` is a Trading id whatever
        the account writes back with)."""
        apis = list(self.writeback_apis.values())
        for api in apis:
            if api.line_id_pattern and api.line_id_pattern.match(value or ""):
                return api.line_id_field
        return next(a.line_id_field for a in apis if not a.line_id_pattern)

    def client_class(self, kind):
        """The client class for ``kind``: "writeback" (the API the account
        writes back and reads orders with: see :meth:`client_for`), or one
        of this platform's API keys (status probes, the catalog)."""
        for api in self.writeback_apis.values():
            if kind in (api.key, api.read_key):
                return api.client
        if kind is not None and (kind == self.catalog_api or kind in dict(self.apis)):
            return next(iter(self.writeback_apis.values())).client
        raise UnknownPlatform(f"{self.label} has no API {kind!r}")

    def client_for(self, account, kind="writeback", **common):
        """A client of ``account`` (read with attribute or item access: a
        record does) for ``kind``; ``common`` are the client options the
        models set (timeouts, endpoints, ``on_call``)."""
        if kind == "writeback":
            client = self.writeback_api(account).client
        else:
            client = self.client_class(kind)
        return client(**self.client_kwargs(account), **common)

    def order_ref_problem(self, ref):
        """'' when ``ref`` has this marketplace's order reference shape."""
        if self.order_ref_pattern and not self.order_ref_pattern.match(ref or ""):
            return self.order_ref_example
        return ""


# -- Amazon ------------------------------------------------------------------

SELLER_CENTRAL_HOSTS = {
    "na": "https://sellercentral.amazon.com",
    "eu": "https://sellercentral-europe.amazon.com",
    "fe": "https://sellercentral-japan.amazon.com",
}
# Each marketplace's own Seller Central, by country code (amazon.MARKETPLACES):
# a seller selling on several marketplaces of a region (pan-European) sees an
# order on the Seller Central of the marketplace it was placed on. The hosts
# are Amazon's "Seller Central URLs" (developer-docs.amazon.com/sp-api/docs/
# seller-central-urls) for the marketplaces it gives a host of their own;
# for those it sends to the unified sellercentral-europe.amazon.com (UK, DE,
# FR, ES, IT), the country's Seller Central domain, which Amazon's own help
# pages are served from (e.g. help item G641 on sellercentral.amazon.fr and
# .co.uk, shared/notes/amazon-sp-api.md §5).
SELLER_CENTRAL_MARKETPLACE_HOSTS = {
    "CA": "https://sellercentral.amazon.ca",
    "US": "https://sellercentral.amazon.com",
    "MX": "https://sellercentral.amazon.com.mx",
    "BR": "https://sellercentral.amazon.com.br",
    "IE": "https://sellercentral.amazon.ie",
    "ES": "https://sellercentral.amazon.es",
    "UK": "https://sellercentral.amazon.co.uk",
    "FR": "https://sellercentral.amazon.fr",
    "BE": "https://sellercentral.amazon.com.be",
    "NL": "https://sellercentral.amazon.nl",
    "DE": "https://sellercentral.amazon.de",
    "IT": "https://sellercentral.amazon.it",
    "SE": "https://sellercentral.amazon.se",
    "ZA": "https://sellercentral.amazon.co.za",
    "PL": "https://sellercentral.amazon.pl",
    "EG": "https://sellercentral.amazon.eg",
    "TR": "https://sellercentral.amazon.com.tr",
    "SA": "https://sellercentral.amazon.sa",
    "AE": "https://sellercentral.amazon.ae",
    "IN": "https://sellercentral.amazon.in",
    "SG": "https://sellercentral.amazon.sg",
    "AU": "https://sellercentral.amazon.com.au",
    "JP": "https://sellercentral-japan.amazon.com",
}


def seller_central_host(marketplace_id, region=None):
    """The Seller Central of ``marketplace_id``; for a marketplace Amazon
    does not list, the region's (North America's without one)."""
    known = amazon.MARKETPLACES.get((marketplace_id or "").strip())
    if known and known[0] in SELLER_CENTRAL_MARKETPLACE_HOSTS:
        return SELLER_CENTRAL_MARKETPLACE_HOSTS[known[0]]
    return SELLER_CENTRAL_HOSTS.get(region or "na", SELLER_CENTRAL_HOSTS["na"])


def _amazon_order_url(account, order_ref, marketplace_id=None):
    """The order on the Seller Central of the marketplace it was placed on
    (``marketplace_id``), else of the account's marketplace."""
    host = seller_central_host(
        marketplace_id or account.amazon_marketplace_id, account.amazon_region
    )
    return f"{host}/orders-v3/order/{order_ref}"


def _amazon_client_kwargs(account):
    return {
        "client_id": account.lwa_client_id or "",
        "client_secret": account.lwa_client_secret or "",
        "refresh_token": account.lwa_refresh_token or "",
        "marketplace_id": account.amazon_marketplace_id or "",
        "region": account.amazon_region or None,
    }


AMAZON = Platform(
    key="amazon",
    label="Amazon",
    apis=(
        (base.API_AMAZON_PRODUCTS, "Amazon Products API"),
        (base.API_AMAZON_WRITEBACK, "Amazon Writeback API"),
        (base.API_AMAZON_ORDERS, "Amazon Orders API"),
    ),
    writeback_apis={
        "default": WritebackApi(
            key=base.API_AMAZON_WRITEBACK,
            read_key=base.API_AMAZON_ORDERS,
            client=AmazonClient,
            line_id_field="amazon_order_item_id",
        )
    },
    api_choice_field=None,
    credential_fields=("lwa_client_id", "lwa_client_secret", "lwa_refresh_token"),
    required_fields=(("amazon_marketplace_id", "ATVPDKIKX0DER for amazon.com"),),
    carrier_code_field="amazon_carrier_code_id",
    line_id_fields=("amazon_order_item_id",),
    line_lookup=False,
    order_ref_pattern=re.compile(r"^\d{3}-\d{7}-\d{7}$"),
    order_ref_example="902-1106328-1059050",
    order_url=_amazon_order_url,
    client_kwargs=_amazon_client_kwargs,
    catalog_api=base.API_AMAZON_PRODUCTS,
)

# -- eBay --------------------------------------------------------------------


def _ebay_order_url(account, order_ref, marketplace_id=None):
    host = (
        "https://www.ebay.com"
        if account.environment == "production"
        else "https://sandbox.ebay.com"
    )
    return f"{host}/sh/ord/details?orderid={order_ref}"


def _ebay_client_kwargs(account):
    return {
        "client_id": account.ebay_client_id or "",
        "client_secret": account.ebay_client_secret or "",
        "dev_id": account.ebay_dev_id or "",
        "refresh_token": account.ebay_refresh_token or "",
        "site_id": account.ebay_site_id,
    }


EBAY = Platform(
    key="ebay",
    label="eBay",
    apis=(
        (base.API_EBAY_TRADING, "eBay Trading API"),
        (base.API_EBAY_FULFILLMENT, "eBay Fulfillment API"),
    ),
    writeback_apis={
        "trading": WritebackApi(
            key=base.API_EBAY_TRADING,
            read_key=base.API_EBAY_TRADING,
            client=EbayTradingClient,
            line_id_field="ebay_order_line_item_id",
            order_line_attr="order_line_item_id",
            # ItemID-TransactionID (TransactionID 0 for auctions), e.g.
            # 110551234567-0.
            line_id_pattern=re.compile(r"^\d+-\d+$"),
            # "The Trading API only supports alphanumeric characters for
            # shipment tracking numbers, and any other characters are not
            # supported, including spaces, hyphens, and all other special
            # characters" (ShipmentTrackingDetailsType.ShipmentTrackingNumber).
            normalise_tracking=_letters_and_digits,
        ),
        # "Only alphanumeric characters are supported for shipment tracking
        # numbers" (ShippingFulfillmentDetails.trackingNumber).
        "fulfillment": WritebackApi(
            key=base.API_EBAY_FULFILLMENT,
            read_key=base.API_EBAY_FULFILLMENT,
            client=EbayFulfillmentClient,
            line_id_field="ebay_line_item_id",
            normalise_tracking=_letters_and_digits,
        ),
    },
    api_choice_field="ebay_api",
    credential_fields=(
        "ebay_client_id",
        "ebay_client_secret",
        "ebay_dev_id",
        "ebay_refresh_token",
    ),
    required_fields=(),
    carrier_code_field="ebay_carrier_code_id",
    line_id_fields=("ebay_order_line_item_id", "ebay_line_item_id"),
    line_lookup=True,
    order_ref_pattern=None,
    order_ref_example="",
    order_url=_ebay_order_url,
    client_kwargs=_ebay_client_kwargs,
)

# -- the registry --------------------------------------------------------------

PLATFORMS = {platform.key: platform for platform in (AMAZON, EBAY)}
# (value, label) pairs for ecommerce.account.platform
SELECTION = [(platform.key, platform.label) for platform in PLATFORMS.values()]
# Every API key of every platform and its label (journal, API Status).
API_SELECTION = [api for platform in PLATFORMS.values() for api in platform.apis]
# Every account field holding a credential, every line-id field.
CREDENTIAL_FIELDS = tuple(
    f for platform in PLATFORMS.values() for f in platform.credential_fields
)
# Account fields choosing which APIs an account uses (its API Status rows).
API_CHOICE_FIELDS = tuple(
    platform.api_choice_field
    for platform in PLATFORMS.values()
    if platform.api_choice_field
)
LINE_ID_FIELDS = tuple(
    f for platform in PLATFORMS.values() for f in platform.line_id_fields
)


def get(key):
    """The :class:`Platform` named ``key``; :class:`UnknownPlatform` when the
    registry has none (never a default)."""
    try:
        return PLATFORMS[key]
    except KeyError:
        raise UnknownPlatform(f"Unknown marketplace platform {key!r}") from None


def region_of(marketplace_id):
    """The Amazon SP-API region serving ``marketplace_id``, or None."""
    return amazon.MARKETPLACE_REGIONS.get((marketplace_id or "").strip())
