# Copyright 2026 stock_ecommerce_writeback contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Export of the write-back grid to a file: the grid's columns (CSV), Amazon's
Shipping Confirmation flat file or eBay Seller Hub's tracking upload CSV.

The grid's Export button opens this wizard with the grid's current domain,
grouping and sort (and the selected rows, if any) in the context; the file
lists the deliveries in that order. The writers live in
:mod:`..marketplaces.exports`.
"""

import dataclasses
import datetime
import re
import zoneinfo

from lxml import etree

from odoo import Command, api, fields, models
from odoo.exceptions import UserError
from odoo.fields import Domain

from ..marketplaces import amazon, exports, policy
from ..marketplaces.policy import State
from ..models.stock_picking import ISSUE_CANCELLED

# The grid's default_order (views/stock_picking_views.xml, view_writeback_list).
GRID_ORDER = "writeback_last_attempt desc, id desc"
ORDER_TERM_RE = re.compile(r"\s*([a-z0-9_]+)(?:\s+(asc|desc))?\s*", re.IGNORECASE)
# Granularities of a date group-by ("date_done:month") whose groups come in
# the order of the dates themselves; the others (day_of_week...) do not.
DATE_GRANULARITIES = ("year", "quarter", "month", "week", "day")
# The grid's fields (stock.picking) and the GridRow attribute each gives.
GRID_FIELD_COLUMNS = {
    "ecommerce_order_ref": "order_ref",
    "ecommerce_account_id": "account",
    "partner_id": "customer",
    "writeback_customer_name": "customer",
    "carrier_id": "carrier",
    "ecommerce_service_name": "service",
    "carrier_tracking_ref": "tracking",
    "writeback_sent_tracking": "sent_tracking",
    "writeback_shipped_qty": "shipped_qty",
    "name": "shipment",
    "date_done": "ship_date",
    "writeback_state": "state",
    "writeback_attempt_count": "attempts",
    "writeback_last_attempt": "last_attempt",
    "writeback_next_attempt": "next_attempt",
    "writeback_error": "error",
}
# Deliveries the marketplace already shows, or a person confirmed there.
CONFIRMED_STATES = (State.SUCCESS, State.MANUAL)
# Deliveries named one by one in the wizard's "left out" warning.
MAX_NAMED = 20

FORMATS = [
    ("grid_csv", "Grid (.csv)"),
    ("amazon_flat", "Amazon Shipping Confirmation (.txt)"),
    ("ebay_csv", "eBay Seller Hub tracking upload (.csv)"),
]
# format: (platform it is for, file name prefix, extension, mimetype)
FILES = {
    "grid_csv": (None, "marketplace-writebacks", "csv", "text/csv"),
    "amazon_flat": ("amazon", "amazon-shipping-confirmation", "txt", "text/plain"),
    "ebay_csv": ("ebay", "ebay-tracking-upload", "csv", "text/csv"),
}
# format: the identifiers of a Shipment that its file carries unaltered and a
# spreadsheet would read as a formula
FORMULA_IDENTIFIERS = {
    "amazon_flat": exports.amazon_formula_identifiers,
    "ebay_csv": exports.ebay_formula_identifiers,
}


class EcommerceWritebackExport(models.TransientModel):
    _name = "ecommerce.writeback.export"
    _description = "Export of marketplace write-backs"

    export_format = fields.Selection(
        FORMATS,
        string="Format",
        required=True,
        default="grid_csv",
        help="Grid: the grid's columns, for a spreadsheet. Amazon: the flat file "
        "for Seller Central > Orders > Upload Order Related Files > Shipping "
        "Confirmation, one per marketplace (a .zip of them when the orders were "
        "placed on several marketplaces). eBay: the file for Seller Hub > "
        "Reports > Uploads (tracking upload).",
    )
    picking_ids = fields.Many2many("stock.picking", string="Deliveries")
    picking_order = fields.Char(
        help="Ids of the deliveries, comma-separated, in the order of the grid "
        "(a many2many has no order of its own)."
    )
    picking_count = fields.Integer(string="Listed", compute="_compute_export_summary")
    export_count = fields.Integer(
        string="In the File", compute="_compute_export_summary"
    )
    export_warning = fields.Text(compute="_compute_export_summary")
    unconfirmed_only = fields.Boolean(
        string="Not yet confirmed only",
        help="Leave out of the Amazon and eBay files the deliveries the "
        "marketplace already shows (Success) or that were confirmed by hand. "
        "On by default from the grid's Export button.",
    )
    grid_columns = fields.Json(
        help="The grid's visible columns, in its order, with its headings: "
        "[[field name, heading], ...] (set by the grid's Export button)."
    )
    export_tz = fields.Char(
        help="The time zone the screen shows times in (the browser's): the "
        "file's times are written in it."
    )

    # ------------------------------------------------------------------
    # What to export: the grid's rows, in the grid's order
    # ------------------------------------------------------------------
    @api.model
    def default_get(self, fields):
        """Takes the deliveries from the context the grid's Export button
        sets: ``export_ids`` (the selected rows, in screen order) if any,
        else every delivery matching ``export_domain`` in the order of the
        grid's ``export_group_by`` and ``export_order`` (see
        :meth:`_export_order`). ``active_ids`` with
        ``active_model`` ``stock.picking`` work too, in their given order."""
        result = super().default_get(fields)
        if not {"picking_ids", "picking_order"} & set(fields):
            return result
        pickings = self._pickings_from_context()
        if pickings is None:
            return result
        if "picking_ids" in fields:
            result["picking_ids"] = [Command.set(pickings.ids)]
        if "picking_order" in fields:
            result["picking_order"] = ",".join(str(pid) for pid in pickings.ids)
        context = self.env.context
        if "grid_columns" in fields and isinstance(context.get("export_columns"), list):
            result["grid_columns"] = context["export_columns"]
        if "export_tz" in fields and isinstance(context.get("export_tz"), str):
            result["export_tz"] = context["export_tz"]
        return result

    @api.model
    def _pickings_from_context(self):
        """The deliveries the context designates, in order, or None."""
        context = self.env.context
        if context.get("active_model") != "stock.picking":
            return None
        Picking = self.env["stock.picking"]
        ids = context.get("export_ids") or (
            context.get("active_ids") if "export_domain" not in context else None
        )
        if ids:
            ids = [pid for pid in ids if isinstance(pid, int)]
            # search() drops what was deleted or is not readable
            readable = set(Picking.search([("id", "in", ids)]).ids)
            return Picking.browse(
                [pid for pid in dict.fromkeys(ids) if pid in readable]
            )
        if "export_domain" in context:
            return Picking.search(
                Domain(context["export_domain"] or []),
                order=self._export_order(
                    context.get("export_order"), context.get("export_group_by")
                ),
            )
        return None

    @api.model
    def _export_order(self, order, group_by=None):
        """An ORDER BY for ``stock.picking`` equivalent to the grid's sort
        ``order`` ("field asc|desc, ...") and grouping ``group_by`` (the
        grid's group-by specs, e.g. ``["ecommerce_account_id",
        "date_done:month"]``), safe to pass to ``search()``.

        The group-by fields come first, each in the direction the sort gives
        it (ascending if the sort does not name it), as the grid orders its
        groups; a date group-by (``date_done:month``) sorts by the date. Then
        the sort, within each group.

        Only stored columns of ``stock.picking`` are accepted, and only the
        date granularities whose groups follow the dates; anything else (or
        no order at all) gives the grid's default order. An empty string is
        the model's own order, as in the grid when its sort is cleared.
        Rows the sort leaves tied come newest first (``id desc``), so the file
        never depends on the database's whim."""
        if not isinstance(order, str):
            return GRID_ORDER
        if not group_by:
            group_by = []
        elif not isinstance(group_by, list | tuple):
            return GRID_ORDER
        Picking = self.env["stock.picking"]
        if not group_by and not order.strip():
            return Picking._order
        terms = self._order_terms(order.strip() or Picking._order)
        groups = self._group_fields(group_by)
        if terms is None or groups is None:
            return GRID_ORDER
        # web_read_group orders the groups by the sort's last term on the field
        directions = dict(terms)
        terms = [(name, directions.get(name, "asc")) for name in groups] + [
            (name, direction) for name, direction in terms if name not in groups
        ]
        if not any(name == "id" for name, _direction in terms):
            terms.append(("id", "desc"))
        return ", ".join(f"{name} {direction}" for name, direction in terms)

    @api.model
    def _sortable_field(self, name):
        """The field ``name`` of ``stock.picking`` if search() can sort on
        it (a stored column), else None."""
        field = self.env["stock.picking"]._fields.get(name)
        return field if field and field.store and field.column_type else None

    @api.model
    def _order_terms(self, order):
        """``[(field name, "asc"|"desc")]`` of a sort string, or None if any
        term is not a sortable field with an optional direction."""
        terms = []
        for term in order.split(","):
            match = ORDER_TERM_RE.fullmatch(term)
            field = self._sortable_field(match[1]) if match else None
            if not field:
                return None
            terms.append((field.name, (match[2] or "asc").lower()))
        return terms

    @api.model
    def _group_fields(self, group_by):
        """The field names of the grid's group-by specs, in order and once
        each, or None if one is not a sortable field (with, for a date, a
        granularity whose groups follow the dates)."""
        names = []
        for spec in group_by:
            if not isinstance(spec, str):
                return None
            name, _colon, granularity = spec.partition(":")
            field = self._sortable_field(name)
            if not field or (
                granularity
                and not (
                    field.type in ("date", "datetime")
                    and granularity in DATE_GRANULARITIES
                )
            ):
                return None
            if field.name not in names:
                names.append(field.name)
        return names

    def _ordered_pickings(self):
        """``picking_ids`` in the order of ``picking_order``."""
        self.ensure_one()
        chosen = set(self.picking_ids._origin.ids)
        order = [
            int(pid)
            for pid in (self.picking_order or "").split(",")
            if pid.strip().isdigit() and int(pid) in chosen
        ]
        order += sorted(chosen - set(order))
        return self.env["stock.picking"].browse(list(dict.fromkeys(order)))

    # ------------------------------------------------------------------
    # What goes into the file
    # ------------------------------------------------------------------
    @api.depends("export_format", "picking_ids", "picking_order", "unconfirmed_only")
    def _compute_export_summary(self):
        for wizard in self:
            pickings = wizard._ordered_pickings()
            wizard.picking_count = len(pickings)
            if not wizard.export_format:
                wizard.export_count = 0
                wizard.export_warning = False
            elif not FILES[wizard.export_format][0]:
                # The grid CSV has a line per delivery: no row to build.
                wizard.export_count = len(pickings)
                wizard.export_warning = wizard._left_out_message(pickings, [])
            else:
                rows, left_out = wizard._export_rows(pickings)
                wizard.export_count = len(rows)
                wizard.export_warning = wizard._left_out_message(pickings, left_out)

    def _export_rows(self, pickings):
        """``(rows, left_out)``: the rows of the chosen format, one per
        delivery in the order of ``pickings``, and ``[(picking, kind,
        reason)]`` for the deliveries the marketplace file leaves out, kind
        being one of LEFT_OUT_KINDS ("other": another marketplace's delivery,
        no reason)."""
        platform = FILES[self.export_format][0]
        if not platform:
            return [self._grid_row(picking) for picking in pickings], []
        formula_identifiers = FORMULA_IDENTIFIERS[self.export_format]
        rows, left_out = [], []
        ours = pickings.filtered_domain([("ecommerce_platform", "=", platform)])
        for picking in pickings:
            if picking not in ours:  # another marketplace's delivery
                left_out.append((picking, "other", False))
                continue
            if (
                picking.writeback_issue == ISSUE_CANCELLED
                or picking.writeback_manual_reason == "cancelled"
            ):
                # Nothing can be confirmed on a cancelled order: the upload
                # would be refused line by line.
                left_out.append(
                    (
                        picking,
                        "cancelled",
                        self.env._("the order is cancelled on the marketplace."),
                    )
                )
                continue
            if self.unconfirmed_only and picking.writeback_state in CONFIRMED_STATES:
                left_out.append(
                    (
                        picking,
                        "confirmed",
                        dict(policy.SELECTION)[picking.writeback_state],
                    )
                )
                continue
            # What the write-back would send: same checks, same Shipment.
            shipment, problem = picking._writeback_checked_shipment()
            if problem:
                left_out.append((picking, "fix", problem))
                continue
            if self.export_format == "ebay_csv":
                shipment = self._ebay_file_shipment(picking, shipment)
            elif self.export_format == "amazon_flat" and not shipment.marketplace_id:
                # Uploaded into one marketplace: the order's, else the account's.
                shipment = dataclasses.replace(
                    shipment,
                    marketplace_id=picking.ecommerce_account_id.amazon_marketplace_id
                    or "",
                )
            found = formula_identifiers(shipment)
            if found:
                left_out.append((picking, "fix", self._formula_problem(found)))
                continue
            rows.append(shipment)
        return rows, left_out

    def _ebay_item_details(self, pickings):
        """``{(order ref, item ref): EbayItemDetails}`` of the items these
        deliveries send: the listing's item number (REST legacyItemId) for
        a Sell Fulfillment line, the product's name and SKU (Item Title,
        Custom Label)."""
        details = {}
        for picking in pickings:
            for line in picking._writeback_shipped_sale_lines():
                product = line.product_id
                info = exports.EbayItemDetails(
                    item_number=line.ebay_legacy_item_id or "",
                    title=product.name or line.name or "",
                    custom_label=product.default_code or "",
                )
                for ref in (line.ebay_order_line_item_id, line.ebay_line_item_id):
                    if ref:
                        details[(picking.ecommerce_order_ref, ref)] = info
        return details

    def _ebay_file_shipment(self, picking, shipment):
        """``shipment`` with the Trading ids (ItemID-TransactionID) Seller
        Hub's file needs: a Sell Fulfillment order is sent by ``lineItemId``,
        which names neither, so each item takes the Trading id its order line
        has (``ebay_order_line_item_id``), when it has one."""
        trading_ids = {
            line.ebay_line_item_id: line.ebay_order_line_item_id
            for line in picking._writeback_shipped_sale_lines()
            if line.ebay_line_item_id and line.ebay_order_line_item_id
        }
        if not trading_ids:
            return shipment
        return dataclasses.replace(
            shipment,
            packages=tuple(
                dataclasses.replace(
                    package,
                    items=tuple(
                        dataclasses.replace(
                            item, item_ref=trading_ids.get(item.item_ref, item.item_ref)
                        )
                        for item in package.items
                    ),
                )
                for package in shipment.packages
            ),
        )

    def _formula_problem(self, found):
        """Why a delivery with identifiers ``found`` (``[(column, value)]``)
        cannot go into the upload file."""
        return self.env._(
            "%(identifiers)s starts with =, +, -, @, a tab or a line break: a "
            "spreadsheet would read it as a formula, and the file cannot change "
            "an identifier the marketplace matches on. Correct it, or let the "
            "write-back send this delivery.",
            identifiers=", ".join(f"{column} {value!r}" for column, value in found),
        )

    def _left_out_message(self, pickings, left_out):
        if not pickings:
            return self.env._("There is no delivery to export.")
        if not left_out:
            return False
        platform = FILES[self.export_format][0]
        marketplace = dict(
            self.env["ecommerce.account"]
            ._fields["platform"]
            ._description_selection(self.env)
        )[platform]
        kinds = {
            kind: [(p, reason) for p, k, reason in left_out if k == kind]
            for kind in ("other", "confirmed", "cancelled", "fix")
        }
        lines = []
        if kinds["other"]:
            lines.append(
                self.env._(
                    "%(count)s of the %(total)s deliveries are not %(marketplace)s "
                    "shipments: they are left out of this file.",
                    count=len(kinds["other"]),
                    total=len(pickings),
                    marketplace=marketplace,
                )
            )
        headings = {
            "confirmed": self.env._(
                "%(count)s %(marketplace)s deliveries are already confirmed: left "
                "out (untick 'Not yet confirmed only' to include them):",
                count=len(kinds["confirmed"]),
                marketplace=marketplace,
            ),
            "cancelled": self.env._(
                "%(count)s %(marketplace)s deliveries cannot be confirmed, their "
                "order is cancelled on %(marketplace)s: left out:",
                count=len(kinds["cancelled"]),
                marketplace=marketplace,
            ),
            "fix": self.env._(
                "%(count)s %(marketplace)s deliveries are left out until fixed:",
                count=len(kinds["fix"]),
                marketplace=marketplace,
            ),
        }
        for kind in ("confirmed", "cancelled", "fix"):
            named = kinds[kind]
            if not named:
                continue
            lines.append(headings[kind])
            for picking, reason in named[:MAX_NAMED]:
                line = f"- {picking.name} ({picking.ecommerce_order_ref})"
                lines.append(f"{line}: {reason}" if kind == "fix" else line)
            if len(named) > MAX_NAMED:
                lines.append(self.env._("- and %s more.", len(named) - MAX_NAMED))
        return "\n".join(lines)

    def _grid_row(self, picking):
        states = dict(
            picking._fields["writeback_state"]._description_selection(self.env)
        )
        return exports.GridRow(
            order_ref=picking.ecommerce_order_ref or "",
            account=picking.ecommerce_account_id.display_name or "",
            customer=picking.partner_id.display_name or "",
            carrier=picking.carrier_id.display_name or "",
            tracking=picking.carrier_tracking_ref or "",
            # as the grid shows it: only where it differs from the one entered
            sent_tracking=(
                picking.writeback_sent_tracking or ""
                if picking.writeback_sent_tracking_differs
                else ""
            ),
            shipment=picking.name or "",
            service=picking.ecommerce_service_name or "",
            ship_date=picking.date_done or None,
            shipped_qty=picking.writeback_shipped_qty,
            state=states.get(picking.writeback_state, ""),
            attempts=picking.writeback_attempt_count,
            last_attempt=picking.writeback_last_attempt or None,
            next_attempt=picking.writeback_next_attempt or None,
            error=picking.writeback_error or "",
        )

    def _grid_columns(self):
        """``[(GridRow attribute, heading)]``: the grid's visible columns, in
        its order, as the browser sent them; else every column of the grid's
        view, with the view's headings in the user's language."""
        columns = []
        for item in self.grid_columns or []:
            if not (isinstance(item, list | tuple) and len(item) == 2):
                continue
            name, heading = item
            if name in GRID_FIELD_COLUMNS and isinstance(heading, str):
                columns.append((GRID_FIELD_COLUMNS[name], heading))
        return columns or self._grid_view_columns()

    @api.model
    def _grid_view_columns(self):
        """Every column of the write-back grid's list view that the export
        knows, in the view's order, with the heading the view shows."""
        Picking = self.env["stock.picking"]
        view = self.env.ref("stock_ecommerce_writeback.view_writeback_list")
        arch = etree.fromstring(Picking.get_view(view.id, "list")["arch"])
        columns = []
        for node in arch.iterchildren("field"):
            name = node.get("name")
            if name not in GRID_FIELD_COLUMNS or node.get("column_invisible"):
                continue
            heading = node.get("string") or Picking._fields[name]._description_string(
                self.env
            )
            columns.append((GRID_FIELD_COLUMNS[name], heading))
        return columns

    def _user_tz(self):
        """The time zone the grid shows dates in: the browser's when the grid
        said so, else the user's."""
        try:
            return zoneinfo.ZoneInfo(
                self.export_tz
                or self.env.context.get("tz")
                or self.env.user.tz
                or "UTC"
            )
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            return datetime.UTC

    def _export_file(self):
        """``(content, file name, mimetype)`` of the chosen format for the
        deliveries of this wizard, in their order. Raises UserError when no
        delivery can go into the file, saying why."""
        self.ensure_one()
        pickings = self._ordered_pickings()
        rows, left_out = self._export_rows(pickings)
        if not rows:
            raise UserError(
                self._left_out_message(pickings, left_out)
                or self.env._("There is no delivery to export.")
            )
        tz = self._user_tz()
        _platform, prefix, extension, mimetype = FILES[self.export_format]
        stamp = datetime.datetime.now(tz).strftime("%Y%m%d-%H%M%S")
        if self.export_format == "grid_csv":
            content = exports.grid_csv(rows, self._grid_columns(), tz=tz)
        elif self.export_format == "amazon_flat":
            groups = exports.by_marketplace(rows)
            if len(groups) > 1:
                # One file per marketplace: Seller Central takes an upload
                # into the marketplace selected (pan-European selling).
                files = [
                    (
                        f"{prefix}-{self._marketplace_label(marketplace)}-{stamp}.{extension}",
                        exports.amazon_shipping_confirmation(shipments, tz=tz),
                    )
                    for marketplace, shipments in groups
                ]
                return (
                    exports.zip_files(files),
                    f"{prefix}-{stamp}.zip",
                    "application/zip",
                )
            content = exports.amazon_shipping_confirmation(rows, tz=tz)
        else:
            content = exports.ebay_tracking_csv(
                rows, details=self._ebay_item_details(pickings)
            )
        return content, f"{prefix}-{stamp}.{extension}", mimetype

    @api.model
    def _marketplace_label(self, marketplace_id):
        """A file name part for an Amazon marketplace: its country code
        (DE, FR...), else its id."""
        known = amazon.MARKETPLACES.get(marketplace_id or "")
        return known[0] if known else re.sub(r"[^0-9A-Za-z]", "", marketplace_id or "")

    def action_export(self):
        """Write the file as an attachment of this wizard (so only its
        creator can read it, and it goes when the wizard is cleaned up) and
        download it."""
        self.ensure_one()
        content, name, mimetype = self._export_file()
        attachment = self.env["ir.attachment"].create(
            {
                "name": name,
                "raw": content,
                "mimetype": mimetype,
                "res_model": self._name,
                "res_id": self.id,
            }
        )
        # Odoo's standard download (static/src/download): no popup window.
        return {
            "type": "ir.actions.client",
            "tag": "stock_ecommerce_writeback.download",
            "params": {"url": f"/web/content/{attachment.id}?download=true"},
        }
