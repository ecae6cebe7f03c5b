"""A local marketplace sandbox: the subset of Amazon SP-API and eBay APIs the
addon uses, on loopback HTTP, for tests and demos.

Plain Python (stdlib + lxml), no Odoo import, and no import of the addon's
clients: it is an independent implementation of the published contracts
(shared/specs) and of the documented behaviour around them (shared/notes).

Served paths (a client's base URL is just ``srv.url``):

=========================================================  ===========================
``POST /auth/o2/token``                                    amazon.token (LWA)
``POST /orders/v0/orders/{id}/shipmentConfirmation``       amazon.confirmShipment
``GET  /orders/2026-01-01/orders/{id}``                    amazon.getOrder
``GET  /catalog/2022-04-01/items/{asin}``                  amazon.getCatalogItem
``POST /identity/v1/oauth2/token``                         ebay.token
``POST /ws/api.dll`` (X-EBAY-API-CALL-NAME)                ebay.CompleteSale, GetOrders
``GET  /sell/fulfillment/v1/order[/{id}]``                 ebay.getOrders, getOrder
``POST /sell/fulfillment/v1/order/{id}/shipping_fulfillment``  createShippingFulfillment
``GET  .../shipping_fulfillment[/{fulfillmentId}]``        getShippingFulfillment(s)
``GET  /_sandbox/images/{name}-{W}x{H}.png``               catalog image links
=========================================================  ===========================

The main URL (``srv.url``) serves all of it and counts as the North America
SP-API host. Amazon serves the SP-API per region, so the sandbox also opens
one port per region, ``srv.amazon_region_urls`` = ``{"na", "eu", "fe"}``
(``srv.amazon_url("eu")``), which answer Amazon paths only (LWA on each).
An order lives in the region of its marketplace (:mod:`.regions`): another
region's host does not find it, and refuses that marketplace.

Where the real APIs refuse, the sandbox refuses too (each rule cites its
source in the module that applies it), among others:

- eBay lines: Trading knows them only as ``ItemID-TransactionID`` (or the
  ItemID + TransactionID pair), REST only by ``lineItemId``; the other form
  is an unknown line (Trading 20822, REST 32200).
- Tracking: a number the order already has is REST 34500; one of another
  buyer's order is Trading 21916964; control characters, over-long numbers
  (:data:`.wire.MAX_TRACKING_NUMBER`) and unknown carrier codes
  (:mod:`.carriers`) are refused by all three write operations.
- eBay OAuth: each refresh token has a consent (a set of scopes); tokens
  carry their scopes and each API checks its own.

In a test::

    srv = SandboxServer(port=0).start()
    srv.add_amazon_order("902-1106328-1059050", items=[...])
    srv.add_ebay_order("12-34567-89012", line_items=[{"quantity": 1}])
    srv.set_ebay_consent("v^1.1#refresh", ["https://api.ebay.com/oauth/api_scope"])
    srv.inject_fault("amazon.confirmShipment", status=503, times=2)
    srv.clock.freeze(); srv.clock.advance(0.5)     # rate limits, token expiry
    srv.requests("amazon.confirmShipment")         # what the client really sent
    srv.stop()

The same control API is reachable over HTTP under ``/_sandbox/`` of the main
URL (see :mod:`.control`), and ``python3 -m sandbox --port 8765 --seed
FILE.json`` runs it from the command line (it logs every region's URL).
"""

from .server import SandboxServer

__all__ = ["SandboxServer"]
