"""The files the write-back grid exports: the grid itself as CSV, Amazon's
"Shipping Confirmation" flat file and eBay Seller Hub's tracking upload CSV.

Plain Python, no Odoo: each writer takes plain rows and returns the whole
file as ``bytes``. What all three guarantee:

* rows come out in the order they are given (the caller passes the order of
  the screen), one line per row, lines ending with CRLF;
* every free-text cell a spreadsheet would evaluate is neutralised
  (:func:`neutralise`); numbers stay numbers;
* in the two marketplace files, the identifiers the marketplace matches on
  (order, item and transaction ids, tracking numbers) are never altered: a
  quote in front would be stored by the marketplace as part of the id. A
  shipment whose identifier a spreadsheet would read as a formula is refused
  (``ValueError``); callers leave it out beforehand, see
  :func:`amazon_formula_identifiers` and :func:`ebay_formula_identifiers`;
* UTF-8. Only the grid CSV starts with a byte order mark: it is meant to be
  opened in Excel, which reads a CSV without one in the Windows code page and
  garbles every accented customer name. The two marketplace files are read by
  the marketplaces' parsers, which expect the header's first column name as
  the very first bytes, so they carry no BOM.
"""

import csv
import dataclasses
import datetime
import io
import re
import zipfile

# Cells starting with one of these are read as formulas (=, +, -, @) or can
# smuggle one in (tab, CR: Excel drops them and evaluates what follows): OWASP
# "CSV Injection"; OWASP ASVS 1.2.10 adds NUL.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\0")

# Excel reads this as "UTF-8" (see the module docstring).
UTF8_BOM = "\ufeff"


def is_formula(value):
    """True when a spreadsheet could evaluate ``value``: it starts with a
    formula trigger (``= + - @``, tab, CR, NUL), or its first non-blank
    character is one (`` =1+1``: some spreadsheets trim the blanks)."""
    text = _text(value)
    return text.startswith(FORMULA_TRIGGERS) or text.lstrip().startswith(
        FORMULA_TRIGGERS
    )


def neutralise(value):
    """``value`` as text that no spreadsheet evaluates: a cell that
    :func:`is_formula` gets a single quote in front, which Excel, LibreOffice
    and Google Sheets take as "this is text". ``None`` and ``False`` (Odoo's
    empty value) become ``""``."""
    text = _text(value)
    if is_formula(text):
        return "'" + text
    return text


def _text(value):
    return "" if value is None or value is False else str(value)


def _cell(value):
    """Numbers as numbers, everything else as neutralised text."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return neutralise(value)


def _local(value, tz):
    """A naive UTC datetime (how Odoo stores them) in ``tz``, still naive."""
    return (
        value.replace(tzinfo=datetime.UTC)
        .astimezone(tz or datetime.UTC)
        .replace(tzinfo=None)
    )


def _formula_identifiers(identifiers):
    """``[(column, value)]`` of the ``identifiers`` that :func:`is_formula`,
    each once, in order."""
    return list(
        dict.fromkeys(
            (column, value) for column, value in identifiers if is_formula(value)
        )
    )


def _refuse_formula_identifiers(found, file):
    if found:
        raise ValueError(
            f"{file}: "
            + ", ".join(f"{column} {value!r}" for column, value in found)
            + " would be read as a formula by a spreadsheet, and the identifiers "
            "are written unaltered: leave this shipment out"
        )


def _write(rows, **dialect):
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n", **dialect)
    writer.writerows(rows)
    return buffer.getvalue()


# ---------------------------------------------------------------------------
# The grid
# ---------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class GridRow:
    """One delivery as the write-back grid lists it. Datetimes are naive
    UTC, as Odoo stores them; texts are what the screen shows."""

    order_ref: str = ""
    account: str = ""
    customer: str = ""
    carrier: str = ""
    tracking: str = ""
    # The tracking numbers as the marketplace got them, where they differ
    # from ``tracking`` (the grid's "Sent As"); "" otherwise.
    sent_tracking: str = ""
    shipment: str = ""
    service: str = ""
    ship_date: datetime.datetime | None = None
    shipped_qty: int = 0
    state: str = ""
    attempts: int = 0
    last_attempt: datetime.datetime | None = None
    next_attempt: datetime.datetime | None = None
    error: str = ""


def grid_csv(rows, columns, tz=None):
    """The grid as a comma-separated file, one line per :class:`GridRow`.

    :param columns: ``[(GridRow attribute, title)]``: the columns the screen
        shows, in its order, with its headings (the titles come from the
        grid's view, never from here).
    :param tz: ``tzinfo`` the datetimes are written in (default UTC), as
        ``YYYY-MM-DD HH:MM:SS``, which every spreadsheet reads as a date.
    :returns: UTF-8 bytes with a BOM (for Excel), CRLF line ends; cells with
        commas, quotes or line breaks quoted as RFC 4180 says.
    """
    lines = [[neutralise(title) for _name, title in columns]]
    for row in rows:
        line = []
        for name, _title in columns:
            value = getattr(row, name)
            if isinstance(value, datetime.datetime):
                value = _local(value, tz).strftime("%Y-%m-%d %H:%M:%S")
            line.append(_cell(value))
        lines.append(line)
    return (UTF8_BOM + _write(lines)).encode("utf-8")


# ---------------------------------------------------------------------------
# Amazon Seller Central: Shipping Confirmation flat file
# ---------------------------------------------------------------------------
# The first eight columns of the template (Seller Central help G641; the
# optional transparency_code / ship_from_* columns are left out, which the
# upload accepts). Amazon's fields map one to one to confirmShipment's.
AMAZON_HEADER = (
    "order-id",
    "order-item-id",
    "quantity",
    "ship-date",
    "carrier-code",
    "carrier-name",
    "tracking-number",
    "ship-method",
)
AMAZON_OTHER_CARRIER = "Other"


def _flat_text(value):
    """A tab-delimited cell as it is: tabs and line breaks inside it become
    spaces (the flat file has no quoting)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return re.sub(r"[\t\r\n]+", " ", _text(value))


def _flat(value):
    """A free-text tab-delimited cell: :func:`_flat_text`, then neutralised
    (on the flattened text: ``"\t=1+1"`` becomes ``"' =1+1"``)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return neutralise(_flat_text(value))


def amazon_formula_identifiers(shipment):
    """``[(column, value)]``: the identifiers of ``shipment`` that the
    Amazon flat file would carry as they are (``order-id``,
    ``order-item-id``, ``tracking-number``) and a spreadsheet would read as
    a formula. Such a shipment cannot go into the file."""
    return _formula_identifiers(
        (column, _flat_text(value)) for column, value in _amazon_identifiers(shipment)
    )


def _amazon_identifiers(shipment):
    yield "order-id", shipment.order_ref
    for package in shipment.packages:
        for item in package.items:
            yield "order-item-id", item.item_ref
        yield "tracking-number", package.tracking_number


def amazon_shipping_confirmation(shipments, tz=None):
    """Amazon's "Shipping Confirmation" flat file for Seller Central's
    "Upload Order Related Files", from :class:`~.base.Shipment` objects.

    One line per order item per package, so a delivery sent in several
    parcels confirms each item under its own tracking number, with the
    quantity in that parcel (Amazon needs the quantity when an order ships
    in parts).

    * ``ship-date`` is ``yyyy-mm-dd`` (the template's format), the shipment's
      date in ``tz`` (default UTC): the day the seller shipped, not UTC's.
    * ``carrier-name`` is filled only when ``carrier-code`` is ``Other``:
      Amazon documents it as "use only if carrier-code is Other", and a blank
      cell leaves Amazon's value as it is.

    * ``order-id``, ``order-item-id`` and ``tracking-number`` are written as
      they are (tabs and line breaks aside), never neutralised.

    :returns: UTF-8 bytes without BOM, tab-delimited, CRLF line ends, the
        header line being exactly :data:`AMAZON_HEADER`.
    :raises ValueError: when a shipment has an identifier a spreadsheet would
        read as a formula (see :func:`amazon_formula_identifiers`).
    """
    lines = [list(AMAZON_HEADER)]
    for shipment in shipments:
        _refuse_formula_identifiers(
            amazon_formula_identifiers(shipment), "Amazon Shipping Confirmation"
        )
        ship_day = _local(shipment.ship_date, tz).date().isoformat()
        other = shipment.carrier_code == AMAZON_OTHER_CARRIER
        for package in shipment.packages:
            for item in package.items:
                lines.append(
                    [
                        _flat_text(shipment.order_ref),
                        _flat_text(item.item_ref),
                        _flat(int(item.quantity)),
                        ship_day,
                        _flat(shipment.carrier_code),
                        _flat(shipment.carrier_name if other else ""),
                        _flat_text(package.tracking_number),
                        _flat(shipment.shipping_method),
                    ]
                )
    # No quoting at all: Amazon reads every character between tabs, and
    # _flat() guarantees no cell holds a tab or a line break.
    return _write(lines, delimiter="\t", quoting=csv.QUOTE_NONE, quotechar=None).encode(
        "utf-8"
    )


def by_marketplace(shipments):
    """``[(marketplace id, [shipment, ...]), ...]``: ``shipments`` grouped by
    :attr:`~.base.Shipment.marketplace_id`, groups in the order of their first
    shipment, shipments in their given order. Seller Central uploads a
    Shipping Confirmation file into the marketplace selected when it is
    uploaded, so a pan-European seller needs one file per marketplace."""
    groups = {}
    for shipment in shipments:
        groups.setdefault(shipment.marketplace_id or "", []).append(shipment)
    return list(groups.items())


def zip_files(files):
    """A ZIP archive of ``[(name, bytes), ...]``, in that order, with fixed
    timestamps (the same files make the same archive)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files:
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, content)
    return buffer.getvalue()


# ---------------------------------------------------------------------------
# eBay Seller Hub: tracking upload
# ---------------------------------------------------------------------------
# The columns of Seller Hub's tracking upload template (Reports > Uploads), in
# the order three independent integrations write them.
EBAY_HEADER = (
    "Shipping Status",
    "Order Number",
    "Item Number",
    "Item Title",
    "Custom Label",
    "Transaction ID",
    "Shipping Carrier Used",
    "Tracking Number",
)
EBAY_SHIPPED = "Shipped"
# Trading's OrderLineItemID is "<ItemID>-<TransactionID>".
EBAY_LINE_ITEM_RE = re.compile(r"(\d+)-(\d+)")


def _ebay_tracking(number):
    return re.sub(r"[^0-9A-Za-z]", "", number or "")


def _ebay_item(item_ref):
    """(Item Number, Transaction ID) of an item reference."""
    match = EBAY_LINE_ITEM_RE.fullmatch(item_ref or "")
    return match.groups() if match else ("", "")


def ebay_formula_identifiers(shipment):
    """``[(column, value)]``: the identifiers of ``shipment`` that the eBay
    tracking upload would carry as they are (*Order Number*, *Item Number*,
    *Transaction ID*, *Tracking Number*) and a spreadsheet would read as a
    formula. Such a shipment cannot go into the file."""
    return _formula_identifiers(_ebay_identifiers(shipment))


def _ebay_identifiers(shipment):
    yield "Order Number", _text(shipment.order_ref)
    for package in shipment.packages:
        for item in package.items:
            item_number, transaction = _ebay_item(item.item_ref)
            yield "Item Number", item_number
            yield "Transaction ID", transaction
        yield "Tracking Number", _ebay_tracking(package.tracking_number)


@dataclasses.dataclass(frozen=True)
class EbayItemDetails:
    """What Seller Hub's file names an item by, besides its line id: the
    listing's *Item Number* (a Sell Fulfillment ``lineItemId`` does not
    hold it), the *Transaction ID* when known, the *Item Title* and the
    *Custom Label* (the seller's SKU)."""

    item_number: str = ""
    transaction_id: str = ""
    title: str = ""
    custom_label: str = ""


def ebay_tracking_csv(shipments, details=None):
    """eBay Seller Hub's tracking upload CSV, from :class:`~.base.Shipment`
    objects: one line per order item per package, *Shipped*.

    * *Item Number* and *Transaction ID* come from the item reference when it
      is a Trading ``OrderLineItemID`` (``<ItemID>-<TransactionID>``). A Sell
      Fulfillment ``lineItemId`` names neither: they come from ``details``
      (``{(order_ref, item_ref): EbayItemDetails}``: the listing's item
      number, eBay REST ``legacyItemId``), else stay blank and eBay matches
      on the *Order Number*.
    * *Item Title* and *Custom Label* come from ``details`` (the product's
      name and SKU), so that every item of the order has its own line.
    * *Tracking Number* keeps only letters and digits, the only characters
      eBay accepts in a tracking number.
    * The identifiers (*Order Number*, *Item Number*, *Transaction ID*,
      *Tracking Number*) are written as they are, never neutralised; the
      other cells are.
    * No ``#INFO`` line: only one of the integrations we know writes one above
      the header (Seller Hub's templates carry it as a comment for humans), the
      others start with the header and are accepted; without it, a
      spreadsheet shows the header in row 1.

    :returns: UTF-8 bytes without BOM, comma-separated, CRLF line ends, the
        header line being exactly :data:`EBAY_HEADER`.
    :raises ValueError: when a shipment has an identifier a spreadsheet would
        read as a formula (see :func:`ebay_formula_identifiers`).
    """
    details = details or {}
    lines = [list(EBAY_HEADER)]
    seen = set()
    for shipment in shipments:
        _refuse_formula_identifiers(
            ebay_formula_identifiers(shipment), "eBay tracking upload"
        )
        for package in shipment.packages:
            tracking = _ebay_tracking(package.tracking_number)
            for item in package.items:
                item_number, transaction = _ebay_item(item.item_ref)
                info = details.get((shipment.order_ref, item.item_ref))
                info = info or EbayItemDetails()
                if not item_number and not is_formula(info.item_number):
                    item_number = info.item_number
                    if not is_formula(info.transaction_id):
                        transaction = info.transaction_id
                line = (
                    EBAY_SHIPPED,
                    _text(shipment.order_ref),
                    item_number,
                    neutralise(info.title),
                    neutralise(info.custom_label),
                    transaction,
                    neutralise(shipment.carrier_code),
                    tracking,
                )
                if line not in seen:
                    seen.add(line)
                    lines.append(line)
    return _write(lines).encode("utf-8")
