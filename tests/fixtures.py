# Copyright 2026 stock_ecommerce_writeback contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The one place that builds marketplace accounts, orders and deliveries,
for the tests (``tests/common.py``) and for every script (benchmarks, chaos
runs): plain functions of an Odoo environment, no test framework.

Scripts import it as ``odoo.addons.stock_ecommerce_writeback.tests.fixtures``.
Accounts point at a marketplace sandbox (``sandbox/``) by its base URL."""

from odoo import Command

AMAZON_MARKETPLACE = "ATVPDKIKX0DER"


def amazon_account(env, url, name="Amazon US (sandbox)", **values):
    """An Amazon account of the sandbox at ``url`` (``values`` override,
    e.g. another refresh token for another seller)."""
    return env["ecommerce.account"].create(
        {
            "name": name,
            "platform": "amazon",
            "environment": "sandbox",
            "api_base_url": url,
            "auth_url": f"{url}/auth/o2/token",
            "amazon_marketplace_id": AMAZON_MARKETPLACE,
            "amazon_seller_id": "A2SELLER",
            "lwa_client_id": "amzn1.application-oa2-client.test",
            "lwa_client_secret": "amazon-secret-value",
            "lwa_refresh_token": "Atzr|amazon-refresh-token",
            "timeout": 5,
            **values,
        }
    )


def ebay_account(env, url, name="eBay US (sandbox)", **values):
    """An eBay account of the sandbox at ``url`` (Trading API unless
    ``ebay_api="fulfillment"``)."""
    return env["ecommerce.account"].create(
        {
            "name": name,
            "platform": "ebay",
            "environment": "sandbox",
            "api_base_url": url,
            "auth_url": f"{url}/identity/v1/oauth2/token",
            "ebay_site_id": 0,
            "ebay_client_id": "Seller-App-SBX-1234",
            "ebay_client_secret": "SBX-ebay-cert-secret",
            "ebay_dev_id": "dev-id-1234",
            "ebay_refresh_token": "v^1.1#ebay-refresh-token",
            "timeout": 5,
            **values,
        }
    )


def carrier(env, name="UPS Ground", amazon_code="UPS", ebay_code="UPS"):
    """A carrier mapped to both marketplaces' codes."""
    shipping = env["product.product"].create(
        {"name": f"Shipping ({name})", "type": "service", "list_price": 0.0}
    )
    return env["delivery.carrier"].create(
        {
            "name": name,
            "delivery_type": "fixed",
            "product_id": shipping.id,
            "amazon_carrier_code": amazon_code,
            "ebay_carrier_code": ebay_code,
        }
    )


def product(env, name, code, stock=None):
    """A storable product, with ``stock`` units in the company's first
    warehouse when given."""
    record = env["product.product"].create(
        {"name": name, "type": "consu", "is_storable": True, "default_code": code}
    )
    if stock:
        warehouse = env["stock.warehouse"].search(
            [("company_id", "=", env.company.id)], limit=1
        )
        env["stock.quant"]._update_available_quantity(
            record, warehouse.lot_stock_id, stock
        )
    return record


def order(env, account, order_ref, lines, customer, carrier):
    """A confirmed sale order of ``account``; ``lines`` =
    ``[(product, quantity, marketplace line id)]``."""
    sale = env["sale.order"].create(
        {
            "partner_id": customer.id,
            "ecommerce_account_id": account.id,
            "ecommerce_order_ref": order_ref,
            "carrier_id": carrier.id,
            "order_line": [
                Command.create(
                    {
                        "product_id": product.id,
                        "product_uom_qty": qty,
                        "ecommerce_item_ref": item_ref,
                    }
                )
                for product, qty, item_ref in lines
            ],
        }
    )
    sale.action_confirm()
    return sale


def ship(env, picking, tracking, carrier, quantities=None, backorder=True):
    """Validate ``picking`` as a warehouse user would: ship ``quantities``
    (``{product: qty}``, default everything) with tracking number
    ``tracking``; a partial delivery creates a backorder (or none)."""
    picking.carrier_id = carrier
    if tracking:
        picking.carrier_tracking_ref = tracking
    for move in picking.move_ids:
        qty = move.product_uom_qty
        if quantities is not None:
            qty = quantities.get(move.product_id, 0)
        move.quantity = qty
        move.picked = True
    res = picking.button_validate()
    if isinstance(res, dict) and res.get("res_model") == "stock.backorder.confirmation":
        wizard = (
            env["stock.backorder.confirmation"]
            .with_context(**res["context"])
            .create({})
        )
        if backorder:
            wizard.process()
        else:
            wizard.process_cancel_backorder()
    return picking


def amazon_orders(env, sandbox, account, count, prefix, product, customer, carrier):
    """``count`` validated deliveries of ``account``, one Amazon order of
    one ``product`` each, known to the sandbox (order references
    ``<prefix>-0000000-<n>``, tracking numbers ``1Z<prefix><n>``). Returns
    the deliveries."""
    pickings = env["stock.picking"]
    for n in range(count):
        ref = f"{prefix}-0000000-{n:07d}"
        item = f"{prefix}{n:011d}"
        sandbox.add_amazon_order(
            ref,
            marketplace_id=account.amazon_marketplace_id,
            items=[{"order_item_id": item, "quantity": 1, "sku": product.default_code}],
        )
        sale = order(env, account, ref, [(product, 1, item)], customer, carrier)
        pickings |= ship(env, sale.picking_ids, f"1Z{prefix}{n:08d}", carrier)
    return pickings
