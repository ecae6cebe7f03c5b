"""``/_sandbox/...``: the HTTP face of the Python control API (for the demo
and manual use). Bodies are JSON objects with the Python keyword names.

Served on the main port only (the Amazon region ports serve Amazon paths).
``POST /_sandbox/ebay/consent`` ``{"refresh_token": ..., "scopes": [...]}``
sets what an eBay refresh token was consented to (``"scopes": null``: back
to every scope the sandbox knows). ``POST /_sandbox/amazon/orders/update``
``{"order_id": ..., "status": ..., "package_items": false}`` changes a stored
Amazon order; ``POST /_sandbox/ebay/orders/cancel`` ``{"order_id": ...,
"cancel_state": "CANCELED"}`` cancels a stored eBay order, shipped or not."""

import logging

from .png import png_for_name
from .wire import BodyError, Response

_logger = logging.getLogger(__name__)

PREFIX = "/_sandbox/"


def _reset(sandbox, payload, request):
    sandbox.reset()
    return {"reset": True}


def _add_amazon_order(sandbox, payload, request):
    return sandbox.add_amazon_order(**payload)


def _add_ebay_order(sandbox, payload, request):
    return sandbox.add_ebay_order(**payload)


def _update_amazon_order(sandbox, payload, request):
    """``{"order_id": ..., "status": ..., "package_items": true | false}``."""
    return sandbox.update_amazon_order(**payload)


def _cancel_ebay_order(sandbox, payload, request):
    """``{"order_id": ..., "cancel_state": "CANCELED"}`` (the default)."""
    return sandbox.cancel_ebay_order(**payload)


def _add_catalog_item(sandbox, payload, request):
    sandbox.add_catalog_item(**payload)
    return {"asin": payload["asin"]}


def _inject_fault(sandbox, payload, request):
    return sandbox.inject_fault(**payload)


def _revoke(sandbox, payload, request):
    sandbox.revoke_refresh_token(payload["refresh_token"])
    return {"revoked": True}


def _ebay_consent(sandbox, payload, request):
    """``{"refresh_token": ..., "scopes": [...] | null}``."""
    return sandbox.set_ebay_consent(payload["refresh_token"], payload.get("scopes"))


def _expire_tokens(sandbox, payload, request):
    sandbox.expire_access_tokens()
    return {"expired": True}


def _clock(sandbox, payload, request):
    """``{"advance": seconds}``, ``{"freeze": true | epoch}`` or ``{"thaw": true}``."""
    if "freeze" in payload:
        at = payload["freeze"]
        sandbox.clock.freeze(None if at is True else at)
    if "advance" in payload:
        sandbox.clock.advance(float(payload["advance"]))
    if payload.get("thaw"):
        sandbox.clock.thaw()
    return {"now": sandbox.clock.now(), "frozen": sandbox.clock.frozen}


def _requests(sandbox, payload, request):
    return sandbox.requests(operation=request.query_one("operation"))


def _state(sandbox, payload, request):
    return sandbox.state_view()


ENDPOINTS = {
    ("POST", "reset"): _reset,
    ("POST", "amazon/orders"): _add_amazon_order,
    ("POST", "ebay/orders"): _add_ebay_order,
    ("POST", "amazon/orders/update"): _update_amazon_order,
    ("POST", "ebay/orders/cancel"): _cancel_ebay_order,
    ("POST", "amazon/catalog"): _add_catalog_item,
    ("POST", "faults"): _inject_fault,
    ("POST", "revoke"): _revoke,
    ("POST", "ebay/consent"): _ebay_consent,
    ("POST", "expire-tokens"): _expire_tokens,
    ("POST", "clock"): _clock,
    ("GET", "requests"): _requests,
    ("GET", "state"): _state,
}


def dispatch(sandbox, request):
    """Answer a ``/_sandbox/`` request; bad arguments give 400 {"error": ...}."""
    name = request.path[len(PREFIX) :].strip("/")
    if request.method == "GET" and name.startswith("images/"):
        return _image(name[len("images/") :])
    endpoint = ENDPOINTS.get((request.method, name))
    if endpoint is None:
        return Response.json(
            404, {"error": f"no sandbox endpoint {request.method} {name}"}
        )
    try:
        payload = request.json() if request.body.strip() else {}
    except BodyError as exc:
        return Response.json(400, {"error": f"body is not JSON: {exc}"})
    if not isinstance(payload, dict):
        return Response.json(400, {"error": "body must be a JSON object"})
    try:
        return Response.json(200, endpoint(sandbox, payload, request))
    except (TypeError, ValueError, KeyError) as exc:
        _logger.info("sandbox control %s refused: %s", name, exc)
        return Response.json(400, {"error": str(exc)})


def _image(name):
    png = png_for_name(name)
    if png is None:
        return Response.json(404, {"error": f"no image {name}"})
    return Response.raw(200, png, "image/png", {"Cache-Control": "max-age=3600"})
