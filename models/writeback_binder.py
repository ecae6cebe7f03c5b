# Copyright 2026 stock_ecommerce_writeback contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The binder: which field of a sales order line holds its id on the
marketplace (per the account's write-back API, see the platform registry),
which shipped lines lack it, and the look-up of missing ids on the
marketplace's own order (eBay: Trading OrderLineItemID and REST lineItemId
name the same line differently), on the model of OCA connector's binder."""

from odoo import api, models

from ..marketplaces import base, errors
from ..marketplaces.policy import State
from .writeback import Writeback


class WritebackBinder(models.AbstractModel):
    _name = "ecommerce.writeback.binder"
    _description = "Marketplace Line Ids (Binder)"

    @api.model
    def _item_field(self, line, value=None):
        """The field of sales order ``line`` holding its id for its account's
        write-back API; with ``value``, the field an id of that shape
        belongs in. None when the order has no marketplace account."""
        account = line.order_id.ecommerce_account_id
        if not account:
            return None
        if value is not None:
            return account._platform().line_id_field_for(value)
        return account._writeback_api().line_id_field

    @api.model
    def _lines_to_resolve(self, picking):
        """Lines shipped by ``picking`` that lack the id the account's
        write-back API needs and were not looked up in vain yet, when the
        platform can look them up on its order (eBay)."""
        if not picking.ecommerce_account_id._platform().line_lookup:
            return self.env["sale.order.line"]
        return picking._writeback_shipped_sale_lines().filtered(
            lambda line: (
                not line.ecommerce_item_ref and not line.ebay_line_resolution_error
            )
        )

    @api.model
    def _resolve_lines(self, run, picking):
        """Look up on eBay's order the line ids this delivery's lines lack
        for the account's API (Trading OrderLineItemID or REST lineItemId),
        matching them by the ids they have, then by variation and SKU.
        Found ids are stored and logged in the chatter; a line that matches
        no line or several lines gets a message and the delivery waits."""
        engine = self.env["ecommerce.writeback.engine"]
        account = picking.ecommerce_account_id
        lines = self._lines_to_resolve(picking)
        error = None
        with run.journal(account, picking):
            try:
                order = run.client(account).read_order(picking.ecommerce_order_ref)
            except errors.MarketplaceError as exc:
                error = exc
        engine._commit()
        if isinstance(error, errors.AuthError):
            account._writeback_flag_auth(str(error), api=account._writeback_apis()[1])
        if error is not None and not isinstance(error, errors.PermanentError):
            # Not now: the delivery stays due a little later.
            if engine._lock(picking) and picking.writeback_state == State.PENDING:
                Writeback(picking).postpone(
                    run.policy(account).verify_interval,
                    error=self.env._(
                        "Could not look up the eBay line ids yet: %s", error
                    ),
                ).store(track=True)
            return False
        found = []
        api = account._writeback_api()
        fname = api.line_id_field
        for line in lines:
            if error is not None:
                reason = "error"
                match = None
            else:
                match, reason = base.match_order_line(
                    order.lines,
                    order_line_item_id=line.ebay_order_line_item_id or "",
                    line_item_id=line.ebay_line_item_id or "",
                    item_id=line.ebay_legacy_item_id or "",
                    variation_id=line.ebay_legacy_variation_id or "",
                    sku=line.product_id.default_code or "",
                )
            if match is None:
                line.with_context(writeback_engine=True).write(
                    {
                        "ebay_line_resolution_error": self._resolution_message(
                            line, fname, reason, error
                        )
                    }
                )
                continue
            value = getattr(match, api.order_line_attr)
            vals = {fname: value}
            if match.item_id and not line.ebay_legacy_item_id:
                vals["ebay_legacy_item_id"] = match.item_id
            if match.variation_id and not line.ebay_legacy_variation_id:
                vals["ebay_legacy_variation_id"] = match.variation_id
            line.with_context(writeback_engine=True).write(vals)
            found.append((line, line._fields[fname].string, value))
        if found:
            picking.message_post(
                body=self.env._(
                    "Looked up on eBay order %(order)s: %(found)s.",
                    order=picking.ecommerce_order_ref,
                    found="; ".join(
                        self.env._(
                            "%(line)s has %(field)s %(value)s",
                            line=line.product_id.display_name,
                            field=label,
                            value=value,
                        )
                        for line, label, value in found
                    ),
                )
            )
        return True

    @api.model
    def _resolution_message(self, line, fname, reason, error):
        label = line._fields[fname].string
        if reason == "ambiguous":
            return self.env._(
                "Several lines of eBay order %(order)s match %(product)s: enter "
                "its %(field)s by hand on the sales order line.",
                order=line.order_id.ecommerce_order_ref,
                product=line.product_id.display_name,
                field=label,
            )
        if error is not None:
            return self.env._(
                "eBay could not show order %(order)s to look up the %(field)s of "
                "%(product)s (%(error)s): enter it by hand on the sales order line.",
                order=line.order_id.ecommerce_order_ref,
                field=label,
                product=line.product_id.display_name,
                error=error,
            )
        return self.env._(
            "No line of eBay order %(order)s matches %(product)s: enter its "
            "%(field)s by hand on the sales order line.",
            order=line.order_id.ecommerce_order_ref,
            product=line.product_id.display_name,
            field=label,
        )
