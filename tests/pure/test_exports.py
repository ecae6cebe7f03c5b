"""The export writers, byte for byte."""

import csv
import dataclasses
import datetime
import io
import time
import zoneinfo

import pytest

from marketplaces import base, exports

SHIPPED = datetime.datetime(2026, 2, 11, 1, 30)  # naive UTC
NEW_YORK = zoneinfo.ZoneInfo("America/New_York")  # UTC-5 in February


def _shipment(**overrides):
    values = {
        "order_ref": "902-1106328-1059050",
        "carrier_code": "UPS",
        "carrier_name": "UPS Ground",
        "shipping_method": "Ground",
        "ship_date": SHIPPED,
        "packages": (
            base.Package(
                "100",
                "1Z999AA10123456784",
                (
                    base.ShipmentItem("11111111111111", 2),
                    base.ShipmentItem("22222222222222", 1),
                ),
            ),
        ),
    }
    values.update(overrides)
    return base.Shipment(**values)


# ---------------------------------------------------------------------------
# neutralise
# ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+1 555 0100", "'+1 555 0100"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1+1", "'\t=1+1"),
        ("\r=1+1", "'\r=1+1"),
        ("\0x", "'\0x"),
        ("a=b", "a=b"),
        # the first non-blank character counts: spreadsheets may trim blanks
        (" =1", "' =1"),
        (" \t@x", "' \t@x"),
        ("\n+1", "'\n+1"),
        (" a", " a"),
        ("'=1", "'=1"),
        ("", ""),
        (None, ""),
        (False, ""),
        (12, "12"),
    ],
)
def test_neutralise(value, expected):
    assert exports.neutralise(value) == expected


# ---------------------------------------------------------------------------
# Grid CSV
# ---------------------------------------------------------------------------
# The grid's columns and headings as its view gives them (the Odoo tier
# checks the view's own).
COLUMNS = [
    ("order_ref", "Marketplace Order"),
    ("account", "Marketplace Account"),
    ("customer", "Customer"),
    ("carrier", "Carrier / Service"),
    ("tracking", "Tracking Number"),
    ("shipment", "Shipment"),
    ("ship_date", "Ship Date"),
    ("shipped_qty", "Shipped Quantity"),
    ("state", "Write-back"),
    ("attempts", "Attempts"),
    ("last_attempt", "Last Attempt"),
    ("next_attempt", "Next Attempt"),
    ("error", "Last Error"),
]
GRID_HEADER = (
    b"Marketplace Order,Marketplace Account,Customer,Carrier / Service,"
    b"Tracking Number,Shipment,Ship Date,Shipped Quantity,Write-back,Attempts,"
    b"Last Attempt,Next Attempt,Last Error\r\n"
)


def _with_title(name, title):
    return [(n, title if n == name else t) for n, t in COLUMNS]


def test_grid_csv_bytes():
    rows = [
        exports.GridRow(
            order_ref="902-1106328-1059050",
            account="Amazon US",
            customer="Zoë Müller",
            carrier="UPS Ground",
            tracking="1Z999AA10123456784",
            shipment="WH/OUT/00001",
            ship_date=SHIPPED,
            shipped_qty=3,
            state="Failed",
            attempts=5,
            last_attempt=datetime.datetime(2026, 2, 11, 4, 0, 5),
            next_attempt=None,
            error='HTTP 400: "InvalidInput", order cancelled\nby buyer',
        ),
        exports.GridRow(order_ref="12-34567-89012", account="eBay US", state="Pending"),
    ]
    assert exports.grid_csv(rows, COLUMNS) == (
        b"\xef\xbb\xbf"
        + GRID_HEADER
        + b"902-1106328-1059050,Amazon US,Zo\xc3\xab M\xc3\xbcller,UPS Ground,"
        b"1Z999AA10123456784,WH/OUT/00001,2026-02-11 01:30:00,3,Failed,5,"
        b'2026-02-11 04:00:05,,"HTTP 400: ""InvalidInput"", order cancelled\nby buyer"'
        b"\r\n"
        b"12-34567-89012,eBay US,,,,,,0,Pending,0,,,\r\n"
    )


def test_grid_csv_local_time_and_the_headings_given():
    rows = [exports.GridRow(order_ref="A", ship_date=SHIPPED)]
    data = exports.grid_csv(rows, _with_title("order_ref", "Commande"), tz=NEW_YORK)
    header, line = data.decode("utf-8-sig").splitlines()
    assert header.startswith("Commande,Marketplace Account,")
    assert line.split(",")[6] == "2026-02-10 20:30:00"


def test_grid_csv_neutralises_every_text_cell():
    evil = "=cmd|' /C calc'!A0"
    row = exports.GridRow(
        **{
            field.name: evil
            for field in dataclasses.fields(exports.GridRow)
            if field.type is str
        }
    )
    data = exports.grid_csv([row], _with_title("error", "-Last Error"))
    parsed = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert parsed[0][-1] == "'-Last Error"
    texts = [cell for cell in parsed[1] if cell not in ("", "0")]
    assert len(texts) == 8
    assert all(cell == "'" + evil for cell in texts)


def test_grid_csv_numbers_are_not_neutralised():
    data = exports.grid_csv([exports.GridRow(shipped_qty=-1, attempts=2)], COLUMNS)
    assert data.endswith(b",,,,,,,-1,,2,,,\r\n")


def test_grid_csv_empty():
    assert exports.grid_csv([], COLUMNS) == b"\xef\xbb\xbf" + GRID_HEADER


# ---------------------------------------------------------------------------
# Amazon Shipping Confirmation flat file
# ---------------------------------------------------------------------------
AMAZON_HEADER = (
    b"order-id\torder-item-id\tquantity\tship-date\tcarrier-code\tcarrier-name\t"
    b"tracking-number\tship-method\r\n"
)


def test_amazon_flat_file_bytes():
    assert exports.amazon_shipping_confirmation([_shipment()]) == (
        AMAZON_HEADER + b"902-1106328-1059050\t11111111111111\t2\t2026-02-11\tUPS\t\t"
        b"1Z999AA10123456784\tGround\r\n"
        b"902-1106328-1059050\t22222222222222\t1\t2026-02-11\tUPS\t\t"
        b"1Z999AA10123456784\tGround\r\n"
    )


def test_amazon_one_line_per_item_per_package_and_carrier_name_for_other():
    shipment = _shipment(
        carrier_code="Other",
        carrier_name="Speedy Parcels",
        shipping_method="Next day",
        packages=(
            base.Package("101", "SP1", (base.ShipmentItem("111", 1),)),
            base.Package(
                "102",
                "SP2",
                (base.ShipmentItem("111", 2), base.ShipmentItem("222", 1)),
            ),
        ),
    )
    assert exports.amazon_shipping_confirmation([shipment], tz=NEW_YORK) == (
        AMAZON_HEADER
        + b"902-1106328-1059050\t111\t1\t2026-02-10\tOther\tSpeedy Parcels\tSP1\t"
        b"Next day\r\n"
        b"902-1106328-1059050\t111\t2\t2026-02-10\tOther\tSpeedy Parcels\tSP2\t"
        b"Next day\r\n"
        b"902-1106328-1059050\t222\t1\t2026-02-10\tOther\tSpeedy Parcels\tSP2\t"
        b"Next day\r\n"
    )


def test_amazon_free_text_is_neutralised_and_never_breaks_the_line():
    shipment = _shipment(
        carrier_code="Other",
        carrier_name='@Evil "Carrier"',
        shipping_method="Ground\tor\r\nAir",
        packages=(base.Package("1", "1Z\t1", (base.ShipmentItem("5", 1),)),),
    )
    assert exports.amazon_shipping_confirmation([shipment]) == (
        AMAZON_HEADER
        + b'902-1106328-1059050\t5\t1\t2026-02-11\tOther\t\'@Evil "Carrier"\t1Z 1\t'
        b"Ground or Air\r\n"
    )


def test_amazon_leading_tab_is_neutralised_after_flattening():
    shipment = _shipment(shipping_method="\t=1+1")
    line = exports.amazon_shipping_confirmation([shipment]).split(b"\r\n")[1]
    assert line.endswith(b"\t' =1+1")
    assert line.count(b"\t") == 7


def test_amazon_identifiers_are_never_altered():
    shipment = _shipment(
        order_ref="'902-1106328-1059050",
        packages=(base.Package("1", "a=1+1", (base.ShipmentItem("1-5", 1),)),),
    )
    assert exports.amazon_formula_identifiers(shipment) == []
    assert exports.amazon_shipping_confirmation([shipment]).split(b"\r\n")[1] == (
        b"'902-1106328-1059050\t1-5\t1\t2026-02-11\tUPS\t\ta=1+1\tGround"
    )


@pytest.mark.parametrize(
    ("overrides", "found"),
    [
        ({"order_ref": "=1+1"}, [("order-id", "=1+1")]),
        (
            {"packages": (base.Package("1", "+1Z1", (base.ShipmentItem("-5", 1),)),)},
            [("order-item-id", "-5"), ("tracking-number", "+1Z1")],
        ),
        # flattened first: the tab becomes a blank, the "@" still counts
        (
            {"packages": (base.Package("1", "\t@1Z1", (base.ShipmentItem("5", 1),)),)},
            [("tracking-number", " @1Z1")],
        ),
    ],
)
def test_amazon_refuses_formula_identifiers(overrides, found):
    shipment = _shipment(**overrides)
    assert exports.amazon_formula_identifiers(shipment) == found
    with pytest.raises(ValueError, match="would be read as a formula"):
        exports.amazon_shipping_confirmation([_shipment(), shipment])


# ---------------------------------------------------------------------------
# eBay Seller Hub tracking upload
# ---------------------------------------------------------------------------
EBAY_HEADER = (
    b"Shipping Status,Order Number,Item Number,Item Title,Custom Label,"
    b"Transaction ID,Shipping Carrier Used,Tracking Number\r\n"
)


def test_ebay_csv_bytes():
    shipment = _shipment(
        order_ref="12-34567-89012",
        carrier_code="USPS",
        packages=(
            base.Package(
                "1",
                "9400 1000 0000-0000 0000 00",
                (
                    base.ShipmentItem("110123456789-2345678901", 1),
                    base.ShipmentItem("110123456790-0", 3),
                ),
            ),
            base.Package(
                "2", "EZ1000000001", (base.ShipmentItem("110123456790-0", 1),)
            ),
        ),
    )
    assert exports.ebay_tracking_csv([shipment]) == (
        EBAY_HEADER + b"Shipped,12-34567-89012,110123456789,,,2345678901,USPS,"
        b"9400100000000000000000\r\n"
        b"Shipped,12-34567-89012,110123456790,,,0,USPS,9400100000000000000000\r\n"
        b"Shipped,12-34567-89012,110123456790,,,0,USPS,EZ1000000001\r\n"
    )


def test_ebay_rest_line_items_collapse_to_one_order_line_per_package():
    shipment = _shipment(
        order_ref="12-34567-89012",
        carrier_code="UPS",
        packages=(
            base.Package(
                "1",
                "1Z1",
                (
                    base.ShipmentItem("10000000000001", 1),
                    base.ShipmentItem("10000000000002", 2),
                ),
            ),
        ),
    )
    assert exports.ebay_tracking_csv([shipment]) == (
        EBAY_HEADER + b"Shipped,12-34567-89012,,,,,UPS,1Z1\r\n"
    )


def test_ebay_free_text_is_neutralised_identifiers_are_not():
    shipment = _shipment(
        order_ref="'12-34567-89012",
        carrier_code="=HYPERLINK(1)",
        # letters and digits only: the "=" goes, and with it the formula
        packages=(base.Package("1", "=1Z1", (base.ShipmentItem("1-2", 1),)),),
    )
    assert exports.ebay_formula_identifiers(shipment) == []
    assert exports.ebay_tracking_csv([shipment]) == (
        EBAY_HEADER + b"Shipped,'12-34567-89012,1,,,2,'=HYPERLINK(1),1Z1\r\n"
    )


@pytest.mark.parametrize("order_ref", ["+12-34567-89012", " =1+1", "@12", "\t12"])
def test_ebay_refuses_formula_identifiers(order_ref):
    shipment = _shipment(order_ref=order_ref)
    assert exports.ebay_formula_identifiers(shipment) == [("Order Number", order_ref)]
    with pytest.raises(ValueError, match="Order Number"):
        exports.ebay_tracking_csv([shipment])


def test_ebay_csv_keeps_the_given_order_of_shipments():
    first = _shipment(
        order_ref="B",
        packages=(base.Package("1", "T2", (base.ShipmentItem("1-1", 1),)),),
    )
    second = _shipment(
        order_ref="A",
        packages=(base.Package("1", "T1", (base.ShipmentItem("2-1", 1),)),),
    )
    lines = exports.ebay_tracking_csv([first, second]).split(b"\r\n")
    assert [line.split(b",")[1] for line in lines[1:-1]] == [b"B", b"A"]


# ---------------------------------------------------------------------------
# What mutation testing showed unpinned
# ---------------------------------------------------------------------------
def test_refusals_name_the_file_the_columns_and_what_to_do():
    amazon = _shipment(order_ref="=1+1")
    with pytest.raises(ValueError) as info:
        exports.amazon_shipping_confirmation([amazon])
    assert str(info.value) == (
        "Amazon Shipping Confirmation: order-id '=1+1' would be read as a formula "
        "by a spreadsheet, and the identifiers are written unaltered: leave this "
        "shipment out"
    )
    two = _shipment(
        order_ref="=1",
        packages=(base.Package("1", "+1Z1", (base.ShipmentItem("5", 1),)),),
    )
    with pytest.raises(ValueError) as info:
        exports.amazon_shipping_confirmation([two])
    assert str(info.value).startswith(
        "Amazon Shipping Confirmation: order-id '=1', tracking-number '+1Z1' would"
    )
    with pytest.raises(ValueError) as info:
        exports.ebay_tracking_csv([_shipment(order_ref="@12")])
    assert str(info.value) == (
        "eBay tracking upload: Order Number '@12' would be read as a formula by a "
        "spreadsheet, and the identifiers are written unaltered: leave this "
        "shipment out"
    )


def test_ebay_tracking_keeps_lower_case_letters_and_an_empty_number():
    shipment = _shipment(
        order_ref="12-34567-89012",
        packages=(
            base.Package("1", "lx-123-456-us", (base.ShipmentItem("110-0", 1),)),
            base.Package("2", "", (base.ShipmentItem("111-0", 1),)),
        ),
    )
    assert exports.ebay_tracking_csv([shipment]) == (
        EBAY_HEADER + b"Shipped,12-34567-89012,110,,,0,UPS,lx123456us\r\n"
        b"Shipped,12-34567-89012,111,,,0,UPS,\r\n"
    )


def test_amazon_numbers_are_written_as_numbers():
    shipment = _shipment(
        packages=(base.Package("1", "1Z1", (base.ShipmentItem("11111111111111", -1),)),)
    )
    line = exports.amazon_shipping_confirmation([shipment]).split(b"\r\n")[1]
    assert line.split(b"\t")[2] == b"-1"


@pytest.mark.parametrize("empty", [False, None])
def test_amazon_empty_values_are_empty_cells(empty):
    """Odoo's empty value (``False``) in an optional cell leaves it blank: the
    file must not tell Amazon the carrier is named "False"."""
    shipment = _shipment(
        carrier_code="Other", carrier_name=empty, shipping_method=empty
    )
    line = exports.amazon_shipping_confirmation([shipment]).split(b"\r\n")[1]
    assert line.split(b"\t")[4:] == [b"Other", b"", b"1Z999AA10123456784", b""]


def test_amazon_numeric_identifiers_are_written_as_their_digits():
    """An identifier given as a number (an order item id read from JSON, say)
    is written as its digits, like the quantity."""
    shipment = _shipment(
        packages=(
            base.Package("1", 1234567890, (base.ShipmentItem(11111111111111, 1),)),
        )
    )
    assert exports.amazon_formula_identifiers(shipment) == []
    line = exports.amazon_shipping_confirmation([shipment]).split(b"\r\n")[1]
    assert line == (
        b"902-1106328-1059050\t11111111111111\t1\t2026-02-11\tUPS\t\t1234567890\tGround"
    )


def test_grid_time_zone_does_not_depend_on_the_machine(monkeypatch):
    """Naive datetimes are UTC (Odoo's), whatever the server's own zone."""
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    try:
        rows = [exports.GridRow(order_ref="A", ship_date=SHIPPED)]
        lines = exports.grid_csv(rows, COLUMNS, tz=NEW_YORK).split(b"\r\n")
        assert b"2026-02-10 20:30:00" in lines[1]
    finally:
        monkeypatch.undo()
        time.tzset()
