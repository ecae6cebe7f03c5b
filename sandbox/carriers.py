"""The carrier codes each marketplace accepts.

One list for the addon and the sandbox: ``data/ecommerce.carrier.code.csv``
(columns ``id, platform, code, name``). Odoo loads it as the records of
``ecommerce.carrier.code`` that the carriers are mapped to; this module reads
the same file, so the sandbox accepts exactly the codes the addon offers.
Where the values come from: ``data/CARRIER_CODES.md``.

Amazon (confirmShipment ``carrierCode``): ordersV0.json has no enum; it
links the CarrierCode announcement: "If the seller is using an unlisted
carrier, they can use the CarrierCode value of Other, then provide the
carrier name in the CarrierName field", and Amazon's earlier announcement
says "The CarrierCode value must match the options listed in Seller Central
exactly. Missing or incorrect values will lead to errors"
(amzn/selling-partner-api-docs#772).

eBay (Trading ``ShippingCarrierUsed``, REST ``shippingCarrierCode``): the
values of ShippingCarrierCodeType, which GeteBayDetails returns per site
(ShippingCarrierDetails). The sandbox takes the whole set for every site: a
code a real site accepts is never refused here; an unknown code always is.

Codes are compared exactly (case and spaces included), as enumeration values.
"""

import csv
import pathlib

CSV_PATH = (
    pathlib.Path(__file__).resolve().parents[1] / "data" / "ecommerce.carrier.code.csv"
)

AMAZON_OTHER = "Other"


def load_rows(path=CSV_PATH):
    """The rows of the carrier-code file, as dicts (id, platform, code, name)."""
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def load(path=CSV_PATH):
    """``{platform: {code: name}}`` from the carrier-code file."""
    codes = {}
    for row in load_rows(path):
        codes.setdefault(row["platform"], {})[row["code"]] = row["name"]
    return codes


_CODES = load()
AMAZON_CARRIER_CODES = frozenset(_CODES["amazon"])
EBAY_CARRIER_CODES = frozenset(_CODES["ebay"])
