# Copyright 2026 stock_ecommerce_writeback contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The mapper: a delivery in marketplace terms. What it shipped, package by
package, with each line's marketplace id and the tracking numbers as the
write-back API takes them (a :class:`~..marketplaces.base.Shipment`), what
must be fixed before it can be sent, and what was last sent. Built once per
claim (the engine's claim statement), and at queue time to tell the user
what to fix. On the model of OCA connector's mapper."""

import re
from collections import defaultdict

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import float_is_zero

from ..marketplaces import base, validate
from .sale_order import MARKETPLACE_LINE_ID_FIELDS
from .stock_picking import SHIPPING_TYPE_CODES

# Several tracking numbers are separated by commas, semicolons or new lines;
# spaces inside one number (as labels print them) are kept.
TRACKING_SPLIT_RE = re.compile(r"[,;\n]+")


class StockPicking(models.Model):
    _inherit = "stock.picking"

    writeback_sent_tracking_differs = fields.Boolean(
        string="Sent Otherwise",
        compute="_compute_writeback_sent_tracking_differs",
        help="The marketplace got the tracking numbers otherwise than they "
        "were entered (eBay: letters and digits only).",
    )

    def _writeback_tracking_numbers(self):
        self.ensure_one()
        numbers = TRACKING_SPLIT_RE.split(self.carrier_tracking_ref or "")
        # "9400 1118 9922 ..." as printed on a label is one number.
        return [re.sub(r"\s+", "", n) for n in numbers if n.strip()]

    def _writeback_wire_tracking(self):
        """[(entered, sent)]: each tracking number as entered and as the
        marketplace gets it: the write-back API's tracking normaliser
        (platform registry; e.g. eBay's Sell Fulfillment API takes letters and
        digits only)."""
        self.ensure_one()
        normalise = self.ecommerce_account_id._writeback_api().normalise_tracking
        return [
            (number, normalise(number)) for number in self._writeback_tracking_numbers()
        ]

    @api.depends("carrier_tracking_ref", "writeback_sent_tracking")
    def _compute_writeback_sent_tracking_differs(self):
        for picking in self:
            entered = [
                number.strip()
                for number in TRACKING_SPLIT_RE.split(
                    picking.carrier_tracking_ref or ""
                )
                if number.strip()
            ]
            sent = [n for n in (picking.writeback_sent_tracking or "").split(",") if n]
            picking.writeback_sent_tracking_differs = bool(sent) and sent != entered

    def _writeback_problem(self):
        """What must be fixed before this delivery can be sent, or ''.
        eBay line ids the engine can look up on the order are no problem:
        the engine looks them up before the send."""
        if self.env["ecommerce.writeback.binder"]._lines_to_resolve(self):
            return ""
        return self._writeback_checked_shipment()[1]

    def _writeback_shipped_sale_lines(self):
        """The marketplace order lines this delivery shipped."""
        self.ensure_one()
        return self.move_ids.filtered(
            lambda m: m.state == "done" and m.quantity
        ).sale_line_id

    def _writeback_prefetch(self):
        """Read what building these deliveries' shipments reads, for all of
        them at once (the engine builds a batch of shipments in a few
        queries instead of a query chain each)."""
        moves = self.move_ids
        lines = moves.sale_line_id
        orders = self.sale_id | lines.order_id
        orders.mapped("ecommerce_account_id")
        orders.order_line.mapped("qty_delivered")
        orders.order_line.mapped("ecommerce_item_ref")
        orders.picking_ids.mapped("location_dest_id.usage")
        self.move_line_ids.mapped("result_package_id")
        self.carrier_id.mapped("name")

    def _writeback_checked_shipment(self):
        """``(shipment, "")`` when this delivery can be sent, else
        ``(None, what must be fixed)``: the checks and the
        :class:`~..marketplaces.base.Shipment` in one go."""
        self.ensure_one()
        account = self.ecommerce_account_id
        marketplace = account._platform().label
        if not self._writeback_tracking_numbers():
            return None, self.env._(
                "No tracking number: enter the Tracking Reference of this delivery "
                "so it can be sent to %s.",
                marketplace,
            )
        wire = self._writeback_wire_tracking()
        unsendable = [entered for entered, sent in wire if not sent]
        if unsendable:
            return None, self.env._(
                "Tracking number %(number)s has no letters or digits, the only "
                "characters %(marketplace)s accepts: correct the Tracking Reference.",
                number=", ".join(unsendable),
                marketplace=marketplace,
            )
        if not self.carrier_id:
            return None, self.env._(
                "No carrier: set the Carrier of this delivery so %s knows "
                "who ships it.",
                marketplace,
            )
        if not self.carrier_id._marketplace_carrier_code(account.platform):
            return None, self.env._(
                "Carrier %(carrier)s has no %(marketplace)s carrier code: set it "
                "on the carrier (Inventory > Configuration > Shipping Methods).",
                carrier=self.carrier_id.display_name,
                marketplace=marketplace,
            )
        try:
            shipment = self._writeback_shipment(wire)
        except UserError as exc:
            return None, str(exc.args[0])
        problems = validate.shipment_problems(shipment, account._writeback_apis()[0])
        if problems:
            return None, self._writeback_problem_message(problems[0], marketplace)
        return shipment, ""

    def _writeback_problem_message(self, problem, marketplace):
        """A user's words for a :class:`~..marketplaces.validate.Problem`:
        which field, which character where, and what the marketplace takes."""
        where = {
            validate.TRACKING_NUMBER: self.env._("Tracking number"),
            validate.CARRIER_CODE: self.env._("The marketplace carrier code"),
            validate.CARRIER_NAME: self.env._("The carrier name"),
            validate.SHIPPING_METHOD: self.env._("The service name"),
            validate.ORDER_REF: self.env._("The marketplace order number"),
            validate.ITEM_REF: self.env._("The marketplace line id"),
            validate.QUANTITY: self.env._("The quantity"),
        }[problem.field]
        value = repr(problem.value)
        character = (
            f"U+{ord(problem.character):04X}"
            if problem.character and not problem.character.isprintable()
            else repr(problem.character)
        )
        if problem.reason == validate.CONTROL_CHARACTER:
            text = self.env._(
                "%(field)s %(value)s holds an invisible control character "
                "(%(char)s at position %(pos)s) that %(marketplace)s refuses: "
                "retype it.",
                field=where,
                value=value,
                char=character,
                pos=problem.position,
                marketplace=marketplace,
            )
        elif problem.reason == validate.NOT_ALLOWED_CHARACTER:
            text = self.env._(
                "%(field)s %(value)s holds %(char)s at position %(pos)s, a "
                "character %(marketplace)s does not accept there.",
                field=where,
                value=value,
                char=character,
                pos=problem.position,
                marketplace=marketplace,
            )
        elif problem.reason == validate.TOO_LONG:
            text = self.env._(
                "%(field)s %(value)s is longer than the %(limit)s characters "
                "%(marketplace)s accepts.",
                field=where,
                value=value,
                limit=problem.limit,
                marketplace=marketplace,
            )
        elif problem.reason == validate.NOT_POSITIVE:
            text = self.env._(
                "The quantity shipped of marketplace line %(line)s is %(qty)s: "
                "%(marketplace)s takes whole quantities of at least 1. Correct "
                "the delivery's quantities (a returned or negative move?) so "
                "it shows what left the warehouse.",
                line=problem.item_ref,
                qty=problem.value,
                marketplace=marketplace,
            )
        elif problem.reason == validate.EMPTY:
            text = self.env._(
                "%(field)s is empty, and %(marketplace)s needs it.",
                field=where,
                marketplace=marketplace,
            )
        else:  # wrong_format
            text = self.env._(
                "%(field)s %(value)s does not have the form %(marketplace)s "
                "expects (for example %(example)s).",
                field=where,
                value=value,
                marketplace=marketplace,
                example=problem.expected or "-",
            )
        return text + " " + self.env._("Nothing was sent; no attempt was used.")

    # ------------------------------------------------------------------
    # What this delivery shipped, in marketplace terms
    # ------------------------------------------------------------------
    def _writeback_item_quantities(self, move_lines=None):
        """{item_ref: quantity in sale units} shipped by these move lines
        (default: the whole delivery)."""
        self.ensure_one()
        move_lines = move_lines if move_lines is not None else self.move_line_ids
        quantities = defaultdict(float)
        for line in move_lines.filtered(lambda ml: ml.move_id.state == "done"):
            sale_line = line.move_id.sale_line_id
            if not sale_line:
                continue
            if not sale_line.ecommerce_item_ref:
                field = sale_line._fields[sale_line._ecommerce_item_field()]
                raise UserError(
                    sale_line.ebay_line_resolution_error
                    or self.env._(
                        "Order line %(line)s has no %(field)s, the id %(account)s "
                        "writes back with: fill it in on the sales order line.",
                        line=sale_line.display_name,
                        field=field.string,
                        account=self.ecommerce_account_id.display_name,
                    )
                )
            qty = line.product_uom_id._compute_quantity(
                line.quantity, sale_line.product_uom_id, rounding_method="HALF-UP"
            )
            quantities[sale_line.ecommerce_item_ref] += qty
        result = {}
        for ref, qty in quantities.items():
            if float_is_zero(qty, precision_digits=3):
                continue
            if abs(qty - round(qty)) > 1e-3:
                raise UserError(
                    self.env._(
                        "Marketplaces take whole units, but %(qty)s units of item "
                        "%(ref)s were shipped.",
                        qty=qty,
                        ref=ref,
                    )
                )
            result[ref] = round(qty)
        negative = {ref: qty for ref, qty in result.items() if qty < 0}
        if negative:
            raise UserError(
                self.env._(
                    "Marketplaces take shipped quantities of at least 1, but "
                    "this delivery adds up to %(items)s: correct its "
                    "quantities so they show what left the warehouse. Nothing "
                    "was sent.",
                    items=", ".join(
                        f"{qty} x {ref}" for ref, qty in sorted(negative.items())
                    ),
                )
            )
        if not result:
            raise UserError(
                self.env._(
                    "This delivery ships nothing from the marketplace order's lines."
                )
            )
        return result

    def _writeback_packages(self):
        """One package per tracking number. Several tracking numbers need
        every shipped item put in one of as many packages (Put in Pack), so
        each tracking number carries the right quantities and nothing that
        left the warehouse is left unconfirmed."""
        self.ensure_one()
        numbers = self._writeback_tracking_numbers()
        shipped = self._writeback_item_quantities()
        if len(numbers) == 1:
            return [(numbers[0], shipped)]
        lines = self.move_line_ids.filtered(
            lambda ml: ml.move_id.state == "done" and ml.move_id.sale_line_id
        )
        packs = lines.result_package_id.sorted("name")
        if len(packs) != len(numbers):
            raise UserError(
                self.env._(
                    "This delivery has %(n)s tracking numbers but its items are "
                    "in %(p)s packages: put each parcel's items in its own "
                    "package (Put in Pack), in the order of the tracking numbers.",
                    n=len(numbers),
                    p=len(packs),
                )
            )
        unpacked = lines.filtered(lambda ml: not ml.result_package_id)
        if unpacked:
            raise UserError(
                self.env._(
                    "This delivery has %(n)s tracking numbers, but %(items)s "
                    "are in no package, so no tracking number would carry them: "
                    "put them in the package of their parcel (Put in Pack).",
                    n=len(numbers),
                    items=", ".join(
                        f"{ml.quantity:g} {ml.product_uom_id.name} "
                        f"{ml.product_id.display_name}"
                        for ml in unpacked
                    ),
                )
            )
        packages = [
            (
                number,
                self._writeback_item_quantities(
                    lines.filtered(lambda ml, pack=pack: ml.result_package_id == pack)
                ),
            )
            for number, pack in zip(numbers, packs, strict=True)
        ]
        packed = defaultdict(int)
        for _number, items in packages:
            for ref, qty in items.items():
                packed[ref] += qty
        if dict(packed) != shipped:
            raise UserError(
                self.env._(
                    "The packages of this delivery hold %(packed)s, but it "
                    "shipped %(shipped)s: correct the packages so they hold "
                    "exactly what shipped.",
                    packed=", ".join(f"{q} x {r}" for r, q in sorted(packed.items())),
                    shipped=", ".join(f"{q} x {r}" for r, q in sorted(shipped.items())),
                )
            )
        return packages

    def _writeback_completes_order(self):
        """True when, with this delivery, every marketplace line of the order
        has shipped in full (eBay Trading: then the order is marked shipped
        by OrderID). A line counts whichever of its ids it has."""
        self.ensure_one()
        lines = self.sale_id.order_line.filtered(
            lambda line: any(line[fname] for fname in MARKETPLACE_LINE_ID_FIELDS)
        )
        return all(
            line.qty_delivered >= line.product_uom_qty
            or float_is_zero(
                line.product_uom_qty - line.qty_delivered,
                precision_rounding=line.product_uom_id.rounding,
            )
            for line in lines
        )

    def _writeback_is_sole_shipment(self):
        """True when no other delivery of the order ships its marketplace
        lines (then eBay may take the tracking at order level)."""
        self.ensure_one()
        others = self.sale_id.picking_ids.filtered(
            lambda p: (
                p != self
                and p.state == "done"
                and p.picking_type_code in SHIPPING_TYPE_CODES
                and p.location_dest_id.usage == "customer"
                and p._writeback_shipped_sale_lines()
            )
        )
        return not others

    def _writeback_shipment(self, wire=None):
        """The :class:`~..marketplaces.base.Shipment` for this delivery
        (``wire``: :meth:`_writeback_wire_tracking`, when the caller has it).
        Package references are stable (delivery id * 100 + package number),
        so a resend edits the same package on Amazon instead of adding one."""
        self.ensure_one()
        carrier = self.carrier_id
        platform = self.ecommerce_account_id.platform
        wire = dict(wire if wire is not None else self._writeback_wire_tracking())
        packages = tuple(
            base.Package(
                package_ref=str(self.id * 100 + index),
                # as the marketplace takes it (eBay REST: letters and digits)
                tracking_number=wire.get(number, number),
                items=tuple(
                    base.ShipmentItem(ref, qty) for ref, qty in sorted(items.items())
                ),
            )
            for index, (number, items) in enumerate(self._writeback_packages(), start=1)
        )
        return base.Shipment(
            order_ref=self.ecommerce_order_ref,
            carrier_code=carrier._marketplace_carrier_code(platform) or "",
            carrier_name=carrier.amazon_carrier_name or carrier.name,
            shipping_method=carrier.ecommerce_service_name or carrier.name,
            ship_date=self.date_done or fields.Datetime.now(),
            packages=packages,
            completes_order=self._writeback_completes_order(),
            sole_shipment=self._writeback_is_sole_shipment(),
            # The order's marketplace; "" = the account's (the client's).
            marketplace_id=(self.sale_id.ecommerce_marketplace_id or "").strip(),
        )

    def _writeback_sent_carrier(self):
        """The names the carrier was last sent under (code, name)."""
        self.ensure_one()
        return tuple((self.writeback_sent_meta or {}).get("carrier") or ())

    def _writeback_marks_order_shipped(self):
        """The last send also marked the whole order shipped (eBay Trading
        CompleteSale by OrderID): the read-back must show it."""
        self.ensure_one()
        return bool((self.writeback_sent_meta or {}).get("order_level"))

    def _writeback_sent_package_list(self):
        """``[(tracking number, [(line id, quantity), ...]), ...]`` as last
        sent (deliveries sent before this was stored: tracking only)."""
        self.ensure_one()
        if self.writeback_sent_packages:
            return [
                (tracking, [tuple(item) for item in items])
                for tracking, items in self.writeback_sent_packages
            ]
        return [
            (number, [])
            for number in (self.writeback_sent_tracking or "").split(",")
            if number
        ]

    def _writeback_note_wire_changes(self, shipment):
        """Tell the user when a tracking number of ``shipment`` (one package
        per number entered, in order) is sent otherwise than it was entered
        (eBay REST: letters and digits only)."""
        self.ensure_one()
        wire = list(
            zip(
                self._writeback_tracking_numbers(),
                [package.tracking_number for package in shipment.packages],
                strict=False,
            )
        )
        sent_tracking = ",".join(sent for _entered, sent in wire)
        changed = [(entered, sent) for entered, sent in wire if entered != sent]
        # told once: the last claim (sent or not) carried the same numbers
        claimed = ",".join(
            number for number, _items in self.writeback_sent_packages or []
        )
        if changed and sent_tracking != claimed:
            self.message_post(
                body=self.env._(
                    "%(marketplace)s accepts only letters and digits in tracking "
                    "numbers: %(numbers)s.",
                    marketplace=self.ecommerce_account_id.display_name,
                    numbers="; ".join(
                        self.env._("%(entered)s is sent as %(sent)s", entered=e, sent=s)
                        for e, s in changed
                    ),
                )
            )
