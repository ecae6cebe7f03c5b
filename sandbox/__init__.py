"""A local marketplace sandbox: the subset of Amazon SP-API and eBay APIs the
addon uses, on one loopback HTTP server, for tests and demos.

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

In a test::

    srv = SandboxServer(port=0).start()
    srv.add_amazon_order("902-1106328-1059050", items=[...])
    srv.inject_fault("amazon.confirmShipment", status=503, times=2)
    srv.clock.freeze(); srv.clock.advance(0.5)     # rate limits, token expiry
    srv.requests("amazon.confirmShipment")         # what the client really sent
    srv.stop()

The same control API is reachable over HTTP under ``/_sandbox/`` (see
:mod:`.control`), and ``python3 -m sandbox --port 8765 --seed FILE.json``
runs it from the command line.
"""

from .server import SandboxServer

__all__ = ["SandboxServer"]
