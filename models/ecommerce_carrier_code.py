# Copyright 2026 stock_ecommerce_writeback contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The carrier codes Amazon and eBay accept, as searchable records.

Loaded from data/ecommerce.carrier.code.csv, the list the sandbox accepts as
well (sandbox/carriers.py; sources in data/CARRIER_CODES.md). A carrier is
mapped to one code per marketplace (delivery.carrier); the marketplace
clients receive the code string.
"""

import logging

from odoo import api, fields, models
from odoo.tools import SQL

from ..marketplaces import platforms

_logger = logging.getLogger(__name__)

# The code that sends the carrier's name along (Amazon carrierName).
OTHER = "Other"


class EcommerceCarrierCode(models.Model):
    _name = "ecommerce.carrier.code"
    _description = "Marketplace Carrier Code"
    _order = "platform, code"
    _rec_names_search = ["code", "name"]

    platform = fields.Selection(platforms.SELECTION, required=True, index=True)
    code = fields.Char(
        required=True,
        help="The value sent to the marketplace, exactly as it accepts it.",
    )
    name = fields.Char(string="Carrier", required=True, translate=False)
    active = fields.Boolean(default=True)

    _platform_code_unique = models.UniqueIndex(
        "(platform, code)", "This marketplace already has this carrier code."
    )

    @api.depends("code", "name")
    def _compute_display_name(self):
        for record in self:
            if record.name and record.name != record.code:
                record.display_name = f"{record.code} ({record.name})"
            else:
                record.display_name = record.code or record.name or ""

    @api.model
    def _find(self, platform, code):
        """The record of ``code`` on ``platform``, archived ones included
        (an empty recordset when the list has no such code)."""
        if not code:
            return self.browse()
        return self.with_context(active_test=False).search(
            [("platform", "=", platform), ("code", "=", code)], limit=1
        )

    @api.model
    def _link_legacy_codes(self, field, platform, rows):
        """Migration from the codes kept as text (19.0.1.3.0 and before).

        ``rows`` are ``(carrier id, old code)`` pairs; each carrier's
        ``field`` (its Many2one to this model) is set to the record of that
        code. A code missing from the list (eBay's was free text) becomes a
        record of its own, so that no mapping is lost: the write-back sends
        what it sent before. Returns the codes it had to create.
        """
        created = []
        by_code = {}
        for carrier_id, code in rows:
            code = (code or "").strip()
            if code:
                by_code.setdefault(code, []).append(carrier_id)
        for code, carrier_ids in by_code.items():
            record = self._find(platform, code)
            if not record:
                record = self.create({"platform": platform, "code": code, "name": code})
                created.append(code)
            # In SQL: a write would queue the carriers' pending deliveries.
            self.env.cr.execute(
                SQL(
                    "UPDATE delivery_carrier SET %s = %s WHERE id = ANY(%s)",
                    SQL.identifier(field),
                    record.id,
                    carrier_ids,
                )
            )
        self.env["delivery.carrier"].invalidate_model([field])
        if created:
            _logger.warning(
                "Carrier codes not in the %s list kept for their carriers: %s",
                platform,
                ", ".join(created),
            )
        return created
