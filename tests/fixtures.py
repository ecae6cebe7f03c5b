# Copyright 2026 stock_ecommerce_writeback contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The one place that builds marketplace accounts, orders and deliveries,
for the tests (``tests/common.py``) and for every script (benchmarks, chaos
runs): plain functions of an Odoo environment, no test framework.

Scripts import it as ``odoo.addons.stock_ecommerce_writeback.tests.fixtures``.
Accounts point at a marketplace sandbox (``sandbox/``) by its base URL.
Where a function makes orders known to the sandbox, ``sandbox`` is a
``SandboxServer`` or anything with its ``add_amazon_order`` and
``add_ebay_order`` methods (a script's client of the sandbox's HTTP control
API, or a list of orders to seed one with)."""

from odoo import Command

AMAZON_MARKETPLACE = "ATVPDKIKX0DER"
# The write-back APIs as the scripts name them: Amazon's, eBay's Trading
# API and eBay's Sell Fulfillment API (REST).
WRITEBACK_APIS = ("amazon", "trading", "rest")


def amazon_account(env, url, name="Amazon US (sandbox)", **values):
    """An Amazon account of the sandbox at ``url`` (``values`` override,
    e.g. another refresh token for another seller)."""
    return env["ecommerce.account"].create({**_amazon_values(url, name), **values})


def _amazon_values(url, name):
    return {
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
    }


def ebay_account(env, url, name="eBay US (sandbox)", **values):
    """An eBay account of the sandbox at ``url`` (Trading API unless
    ``ebay_api="fulfillment"``)."""
    return env["ecommerce.account"].create({**_ebay_values(url, name), **values})


def _ebay_values(url, name):
    return {
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
    }


def carrier(env, name="UPS Ground", amazon_code="UPS", ebay_code="UPS"):
    """A carrier mapped to both marketplaces' codes (code strings of
    data/ecommerce.carrier.code.csv)."""
    shipping = env["product.product"].create(
        {"name": f"Shipping ({name})", "type": "service", "list_price": 0.0}
    )
    return env["delivery.carrier"].create(
        {
            "name": name,
            "delivery_type": "fixed",
            "product_id": shipping.id,
            "amazon_carrier_code_id": carrier_code(env, "amazon", amazon_code).id,
            "ebay_carrier_code_id": carrier_code(env, "ebay", ebay_code).id,
        }
    )


def carrier_code(env, platform, code):
    """The ecommerce.carrier.code record of ``code`` (none for a falsy code;
    an unknown code fails the test)."""
    if not code:
        return env["ecommerce.carrier.code"]
    record = env["ecommerce.carrier.code"]._find(platform, code)
    assert record, f"{code!r} is not a {platform} carrier code"
    return record


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


def seller_account(env, url, api, seller, name=None, reuse=False, **values):
    """An account of the sandbox at ``url`` that writes back through ``api``
    (one of :data:`WRITEBACK_APIS`) as a seller of its own: ``seller`` (a
    short text) makes its seller id and refresh token, so the sandbox and the
    clients' pacer meter it apart from every other seller. Named ``name``
    (default ``"<api> seller <seller>"``); ``values`` override (e.g. the
    timeout). With ``reuse``, an account of that name, archived or not, is
    taken instead of a new one: made active and written with these values,
    so that a script run again and again on its database keeps one account,
    bound to the sandbox of the run."""
    if api not in WRITEBACK_APIS:
        raise ValueError(f"api must be one of {WRITEBACK_APIS}, got {api!r}")
    name = name or f"{api} seller {seller}"
    if api == "amazon":
        vals = _amazon_values(url, name)
        vals.update(amazon_seller_id=f"A2{seller}", lwa_refresh_token=f"Atzr|{seller}")
    else:
        vals = _ebay_values(url, name)
        vals.update(
            ebay_api="trading" if api == "trading" else "fulfillment",
            ebay_refresh_token=f"v^1.1#{seller}",
        )
    vals.update(values)
    Account = env["ecommerce.account"].with_context(active_test=False)
    account = reuse and Account.search([("name", "=", name)], limit=1)
    if account:
        account.write({"active": True, **vals})
        return account
    return Account.create(vals)


def untracked_product(env, name, code):
    """A product whose stock is not tracked (goods, not storable): its
    deliveries are ready whatever the stock, as a benchmark's thousands of
    orders need."""
    return env["product.product"].create(
        {"name": name, "type": "consu", "is_storable": False, "default_code": code}
    )


def sandbox_order(sandbox, account, ref, line, sku=None):
    """Order ``ref`` of one unit of ``sku`` in ``sandbox``, as ``account``'s
    marketplace keeps it; ``line`` (a number of at most 10 digits, unique in
    the sandbox) makes the ids of its line. Returns the line's id as the
    account writes back with it (``ecommerce_item_ref`` of the sale order
    line): the Amazon OrderItemId, eBay Trading's ItemID-TransactionID or
    the Sell Fulfillment lineItemId."""
    line_id = f"{line:014d}"
    if account.platform == "amazon":
        sandbox.add_amazon_order(
            ref,
            marketplace_id=account.amazon_marketplace_id,
            items=[{"order_item_id": line_id, "quantity": 1, "sku": sku}],
        )
        return line_id
    item_id = f"11{line:010d}"
    sandbox.add_ebay_order(
        ref,
        line_items=[
            {
                "line_item_id": line_id,
                "quantity": 1,
                "item_id": item_id,
                "transaction_id": "0",
                "sku": sku,
            }
        ],
    )
    return f"{item_id}-0" if account.ebay_api == "trading" else line_id


def marketplace_deliveries(env, sandbox, orders, product, customer, carrier):
    """Validated deliveries of marketplace orders, one unit of ``product``
    each, made in one batch (one create of the sale orders, one validation;
    no chatter tracking, no backorder): ``orders`` =
    ``[(account, order ref, line, tracking number)]``, each order made known
    to ``sandbox`` first (:func:`sandbox_order`, ``line`` as there). Returns
    the deliveries, in the order of ``orders``."""
    env = env(context=dict(env.context, tracking_disable=True))
    orders = list(orders)
    item_refs = [
        sandbox_order(sandbox, account, ref, line, product.default_code or None)
        for account, ref, line, _tracking in orders
    ]
    sales = env["sale.order"].create(
        [
            {
                "partner_id": customer.id,
                "ecommerce_account_id": account.id,
                "ecommerce_order_ref": ref,
                "carrier_id": carrier.id,
                "order_line": [
                    Command.create(
                        {
                            "product_id": product.id,
                            "product_uom_qty": 1,
                            "ecommerce_item_ref": item_ref,
                        }
                    )
                ],
            }
            for (account, ref, _line, _tracking), item_ref in zip(
                orders, item_refs, strict=True
            )
        ]
    )
    sales.action_confirm()
    pickings = env["stock.picking"]
    for sale, (_account, _ref, _line, tracking) in zip(sales, orders, strict=True):
        picking = sale.picking_ids
        picking.write({"carrier_id": carrier.id, "carrier_tracking_ref": tracking})
        pickings |= picking
    for move in pickings.move_ids:
        move.quantity = move.product_uom_qty
        move.picked = True
    pickings.with_context(skip_backorder=True).button_validate()
    return pickings


def committed_deliveries(env, sandbox, orders, product, customer, carrier, chunk=100):
    """:func:`marketplace_deliveries` of ``orders``, ``chunk`` at a time:
    yields each chunk's deliveries, and commits the chunk (and empties the
    environment's cache) when the caller takes the next one, or when the
    loop ends. A caller that raises on a chunk leaves it uncommitted, so a
    large batch commits as it goes but never half a chunk."""
    orders = list(orders)
    for start in range(0, len(orders), chunk):
        yield marketplace_deliveries(
            env, sandbox, orders[start : start + chunk], product, customer, carrier
        )
        env.cr.commit()
        env.invalidate_all()
