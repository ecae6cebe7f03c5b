"""The marketplaces' carrier codes: one file, data/ecommerce.carrier.code.csv,
loaded by Odoo (ecommerce.carrier.code) and read by the sandbox
(sandbox/carriers.py). Sources: data/CARRIER_CODES.md."""

import collections
import csv
import re

import pytest
from test_sandbox import (
    REPO_ROOT,
    add_amazon_order,
    amazon_token,
    confirm,
    confirmation,
)

from sandbox import carriers

CSV_PATH = REPO_ROOT / "data" / "ecommerce.carrier.code.csv"

# The Amazon codes the issue names, as Amazon spells them.
AMAZON_EXAMPLES = (
    "DPD", "Deutsche Post", "La Poste", "Poste Italiane", "Yodel", "Royal Mail",
    "India Post", "Delhivery", "BlueDart", "YAMATO", "YamatoTransport", "SAGAWA",
    "SagawaExpress", "DHL", "GLS", "Hermes", "Chronopost", "Colissimo", "Correos",
    "InPost", "PostNL", "Other",
)  # fmt: skip
# The addon's former fixed selection (Seller Central's SG template): every
# value must stay, or the migration of 19.0.1.4.0 would have to invent one.
FORMER_AMAZON_SELECTION = (
    "Blue Package", "USPS", "UPS", "UPSMI", "FedEx", "DHL", "DHL Global Mail",
    "Fastway", "UPS Mail Innovations", "Lasership", "Royal Mail", "FedEx SmartPost",
    "OSM", "OnTrac", "Streamlite", "Newgistics", "Canada Post", "City Link", "GLS",
    "GO!", "Hermes Logistik Gruppe", "Parcelforce", "TNT", "Target", "SagawaExpress",
    "NipponExpress", "YamatoTransport", "Ninjavan", "Qxpress", "Singapore Post", "4PX",
    "Yanwen", "Aramex", "China Post", "DHL eCommerce", "SF Express", "Other",
)  # fmt: skip
EBAY_MAJOR = (
    "UPS", "USPS", "FedEx", "DHL", "DHLEXPRESS", "DeutschePost", "Hermes", "DPD",
    "GLS", "RoyalMail", "Parcelforce", "Yodel", "PostNL", "Colissimo", "Chronopost",
    "PosteItaliane", "Correos", "AustraliaPost", "IndiaPost", "JapanPost", "TNT",
    "Other",
)  # fmt: skip


@pytest.fixture(scope="module")
def rows():
    with open(CSV_PATH, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def codes_of(rows, platform):
    return [row["code"] for row in rows if row["platform"] == platform]


def test_the_file_has_the_columns_odoo_loads(rows):
    assert list(rows[0]) == ["id", "platform", "code", "name"]
    assert {row["platform"] for row in rows} == {"amazon", "ebay"}


def test_amazon_has_several_hundred_codes_with_the_european_and_asian_ones(rows):
    amazon = codes_of(rows, "amazon")
    assert len(amazon) >= 300
    assert set(AMAZON_EXAMPLES) <= set(amazon)
    assert set(FORMER_AMAZON_SELECTION) <= set(amazon)


def test_ebay_has_the_major_carriers(rows):
    ebay = codes_of(rows, "ebay")
    assert len(ebay) >= 150
    assert set(EBAY_MAJOR) <= set(ebay)
    # "Reserved for internal or future use", never a carrier.
    assert "CustomCode" not in ebay


@pytest.mark.parametrize("platform", ["amazon", "ebay"])
def test_no_code_twice_and_each_as_the_marketplace_spells_it(rows, platform):
    codes = codes_of(rows, platform)
    twice = [code for code, n in collections.Counter(codes).items() if n > 1]
    assert twice == []
    assert all(code and code == code.strip() and "  " not in code for code in codes)
    # Sorted as documented, so that a new code has one place to go.
    assert codes == sorted(codes, key=lambda code: (code.casefold(), code))


def test_xml_ids_are_unique_and_follow_the_rule(rows):
    ids = [row["id"] for row in rows]
    assert len(ids) == len(set(ids))
    for row in rows:
        assert re.fullmatch(rf"carrier_code_{row['platform']}_[a-z0-9_]+", row["id"])
        assert row["name"].strip()


def test_the_sandbox_accepts_exactly_the_file(rows):
    assert carriers.AMAZON_CARRIER_CODES == set(codes_of(rows, "amazon"))
    assert carriers.EBAY_CARRIER_CODES == set(codes_of(rows, "ebay"))


@pytest.mark.parametrize(
    "code", ["DPD", "Deutsche Post", "La Poste", "Poste Italiane", "InPost"]
)
def test_a_european_seller_confirms_with_its_carrier(sandbox, code):
    add_amazon_order(sandbox)

    response = confirm(sandbox, amazon_token(sandbox), confirmation(carrierCode=code))

    assert response.status_code == 204


@pytest.mark.parametrize(
    "code", ["dpd", "Deutsche Post AG", "DPD UK", "Hermes Germany"]
)
def test_a_code_amazon_does_not_list_is_refused(sandbox, code):
    add_amazon_order(sandbox)

    response = confirm(sandbox, amazon_token(sandbox), confirmation(carrierCode=code))

    assert response.status_code == 400
    assert "[packageDetail.carrierCode]" in response.json()["errors"][0]["message"]
