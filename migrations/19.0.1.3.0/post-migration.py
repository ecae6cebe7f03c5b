# Copyright 2026 stock_ecommerce_writeback contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""19.0.1.3.0: the push and verify crons call the engine itself
(``ecommerce.writeback.engine._cron_push`` / ``_cron_verify``), no longer
the delivery model's entry points, which are gone. Their records are
``noupdate``: moved here, keeping what an administrator set (interval,
active, next call)."""

from odoo import SUPERUSER_ID, api

CRONS = {
    "stock_ecommerce_writeback.ir_cron_writeback_push": "model._cron_push()",
    "stock_ecommerce_writeback.ir_cron_writeback_verify": "model._cron_verify()",
}


def migrate(cr, version):
    if not version:
        return
    env = api.Environment(cr, SUPERUSER_ID, {})
    engine = env["ir.model"]._get("ecommerce.writeback.engine")
    for xmlid, code in CRONS.items():
        cron = env.ref(xmlid, raise_if_not_found=False)
        if cron:
            cron.write({"model_id": engine.id, "code": code})
