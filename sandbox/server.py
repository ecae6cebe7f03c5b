"""The sandbox server: HTTP on loopback speaking the Amazon SP-API and eBay
subsets the addon uses, with state, rate limits and faults.

One main port serves every API (and the ``/_sandbox/`` control API); one
more port per Amazon region (na, eu, fe) serves the Amazon paths only, as
Amazon's regional SP-API hosts do. All ports share one state.

Typical use in a test::

    srv = SandboxServer(port=0).start()
    srv.add_amazon_order("902-1106328-1059050", items=[...])
    ...  # point a client at srv.url, or srv.amazon_url("eu") for an EU seller
    srv.stop()
"""

import collections
import contextlib
import copy
import dataclasses
import ipaddress
import logging
import re
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

from . import amazon, control, ebay_rest, ebay_trading
from .api import json_or_none
from .clock import Clock
from .faults import Fault, FaultBook
from .ratelimit import RateLimiter, merge_limits
from .regions import REGIONS, check_marketplace, check_region
from .store import (
    EBAY_SCOPE_BASE,
    AmazonOrder,
    AmazonPackage,
    EbayFulfillment,
    State,
    amazon_base_status,
    check_ebay_cancel_state,
    new_amazon_order,
    new_catalog_entry,
    new_ebay_order,
    tracking_key,
)
from .wire import Request, Response

_logger = logging.getLogger(__name__)

DEFAULT_TOKEN_TTL = {"amazon": 3600, "ebay": 7200}  # LWA: 1 h; eBay user token: 2 h
LOG_SIZE = 10000  # requests kept for requests(); a demo may run for days


@dataclasses.dataclass
class Route:
    """One marketplace operation: where it lives and who handles it."""

    method: str
    pattern: str
    operation: object  # str, or callable(request) -> str
    handler: object  # callable(sandbox, request, params) -> Response
    api: object  # an api.Api
    refs: object = None  # callable(sandbox, request, params) -> set of order ids

    def __post_init__(self):
        self.regex = re.compile(f"^{self.pattern}$")

    @property
    def is_amazon(self):
        """An Amazon operation (LWA or SP-API), served on the region hosts."""
        return isinstance(self.operation, str) and self.operation.startswith("amazon.")

    def operation_for(self, request):
        return self.operation(request) if callable(self.operation) else self.operation

    def order_refs(self, sandbox, request, params):
        if self.refs is not None:
            return self.refs(sandbox, request, params)
        return {params["orderId"]} if params.get("orderId") else set()


def _rest_order_ids(sandbox, request, params):
    return set(request.query_values("orderIds"))


def build_routes():
    """Every marketplace operation the sandbox serves, paths as on the real hosts."""
    lwa, sp_api = amazon.LoginWithAmazon(), amazon.SellingPartnerApi()
    identity, rest = ebay_rest.EbayIdentity(), ebay_rest.SellFulfillment()
    trading = ebay_trading.TradingApi()
    order = r"/sell/fulfillment/v1/order/(?P<orderId>[^/]+)"
    return [
        Route(
            "POST", r"/auth/o2/token", "amazon.token", amazon.lwa_token, lwa, _no_refs
        ),
        Route(
            "POST",
            r"/orders/v0/orders/(?P<orderId>[^/]+)/shipmentConfirmation",
            "amazon.confirmShipment",
            amazon.confirm_shipment,
            sp_api,
        ),
        Route(
            "GET",
            r"/orders/2026-01-01/orders",
            "amazon.searchOrders",
            amazon.search_orders,
            sp_api,
            _no_refs,
        ),
        Route(
            "GET",
            r"/orders/2026-01-01/orders/(?P<orderId>[^/]+)",
            "amazon.getOrder",
            amazon.get_order,
            sp_api,
        ),
        Route(
            "GET",
            r"/catalog/2022-04-01/items/?(?P<asin>[^/]*)",
            "amazon.getCatalogItem",
            amazon.get_catalog_item,
            sp_api,
            _no_refs,
        ),
        Route(
            "POST",
            r"/identity/v1/oauth2/token",
            "ebay.token",
            ebay_rest.ebay_token,
            identity,
            _no_refs,
        ),
        Route(
            "POST",
            r"/ws/api\.dll",
            ebay_trading.operation_of,
            ebay_trading.handle_call,
            trading,
            ebay_trading.order_refs,
        ),
        Route(
            "GET",
            r"/sell/fulfillment/v1/order",
            "ebay.getOrders",
            ebay_rest.get_orders,
            rest,
            _rest_order_ids,
        ),
        Route("GET", order, "ebay.getOrder", ebay_rest.get_order, rest),
        Route(
            "POST",
            order + "/shipping_fulfillment",
            "ebay.createShippingFulfillment",
            ebay_rest.create_shipping_fulfillment,
            rest,
        ),
        Route(
            "GET",
            order + "/shipping_fulfillment",
            "ebay.getShippingFulfillments",
            ebay_rest.get_shipping_fulfillments,
            rest,
        ),
        Route(
            "GET",
            order + "/shipping_fulfillment/(?P<fulfillmentId>[^/]+)",
            "ebay.getShippingFulfillment",
            ebay_rest.get_shipping_fulfillment,
            rest,
        ),
    ]


def _no_refs(sandbox, request, params):
    return set()


def check_loopback(host):
    """Refuse to serve anything but loopback: this is a test double with
    no authentication of its own."""
    if host == "localhost":
        return
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(f"the sandbox binds loopback only, not {host!r}") from None
    if not address.is_loopback:
        raise ValueError(f"the sandbox binds loopback only, not {host!r}")


class SandboxServer:
    """Amazon SP-API + eBay (Trading, REST, OAuth) sandbox on 127.0.0.1.

    :param token_ttl: access-token lifetime in seconds for both marketplaces
        (default: Amazon 3600, eBay 7200, as the real ones).
    :param rate_limits: per-operation overrides of the default usage plans,
        ``{"amazon.getOrder": (rate, burst)}``, or None to disable one.
    :param clock: a :class:`~.clock.Clock` or a callable returning epoch
        seconds; ``srv.clock`` can be frozen and advanced by tests.
    :param amazon_region_ports: ``{"eu": 8767}``: the port of a region's
        SP-API host (default: any free port for each of na, eu, fe).
    """

    def __init__(
        self,
        host="127.0.0.1",
        port=0,
        *,
        token_ttl=None,
        rate_limits=None,
        clock=None,
        amazon_region_ports=None,
    ):
        check_loopback(host)
        self.host, self.port = host, port
        self._region_ports = dict.fromkeys(REGIONS, 0)
        for region, region_port in (amazon_region_ports or {}).items():
            self._region_ports[check_region(region)] = int(region_port)
        self._region_servers = {}  # region -> (httpd, thread)
        if not isinstance(clock, Clock):
            clock = Clock() if clock is None else Clock(clock)
        self.clock = clock
        self._token_ttl = token_ttl
        self.state = State()
        self.faults = FaultBook()
        self.limiter = RateLimiter(merge_limits(rate_limits), self.clock)
        self._routes = build_routes()
        self._lock = threading.RLock()
        self._log = collections.deque(maxlen=LOG_SIZE)
        self._in_flight = 0
        self._idle = threading.Condition()
        self._httpd = None
        self._thread = None

    # ------------------------------------------------------------ lifecycle

    def start(self):
        """Serve in background threads; returns self (``srv.url`` and
        ``srv.amazon_region_urls`` are set)."""
        if self._httpd is not None:
            return self
        try:
            self._httpd, self._thread = self._listen(self.port, None)
            self.port = self._httpd.server_address[1]
            for region in REGIONS:
                httpd, thread = self._listen(self._region_ports[region], region)
                self._region_servers[region] = (httpd, thread)
                self._region_ports[region] = httpd.server_address[1]
        except OSError:
            self.stop()
            raise
        _logger.info("marketplace sandbox listening on %s", self.url)
        for region, url in self.amazon_region_urls.items():
            _logger.info("Amazon SP-API region %s at %s", region, url)
        return self

    def _listen(self, port, region):
        """A listening server and its thread; ``region`` = the Amazon region
        the port stands for (None: the main port, which serves everything)."""
        handler = type(
            "SandboxRequestHandler",
            (_RequestHandler,),
            {"sandbox": self, "region": region},
        )
        server_class = _HttpServer6 if ":" in self.host else _HttpServer
        httpd = server_class((self.host, port), handler)
        name = f"sandbox:{httpd.server_address[1]}" + (f":{region}" if region else "")
        thread = threading.Thread(target=httpd.serve_forever, name=name, daemon=True)
        thread.start()
        return httpd, thread

    def stop(self):
        """Stop serving and free the ports (requests still sleeping in a
        ``delay`` fault are abandoned)."""
        servers = list(self._region_servers.values())
        if self._httpd is not None:
            servers.append((self._httpd, self._thread))
        for httpd, thread in servers:
            httpd.shutdown()
            httpd.server_close()
            thread.join(timeout=5)
        self._region_servers.clear()
        self._httpd = self._thread = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()

    @property
    def url(self):
        """Base URL of every API, e.g. ``http://127.0.0.1:54321``; for the
        SP-API it is the North America (``na``) host."""
        return self._url_for(self.port)

    @property
    def amazon_region_urls(self):
        """``{"na": url, "eu": url, "fe": url}``: one SP-API host per Amazon
        region (LWA answers on each too). An order lives in the region of its
        marketplace; another region's host does not find it."""
        return {region: self._url_for(self._region_ports[region]) for region in REGIONS}

    def amazon_url(self, region="na"):
        """The base URL of the SP-API host of ``region`` (na, eu or fe)."""
        return self.amazon_region_urls[check_region(region)]

    def _url_for(self, port):
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{port}"

    def serve_until_interrupted(self):
        """Serve in the foreground (CLI) until Ctrl-C."""
        self.start()
        try:
            while self._thread.is_alive():
                self._thread.join(timeout=0.5)
        except KeyboardInterrupt:
            _logger.info("stopping")
        finally:
            self.stop()

    # ---------------------------------------------------------- control API

    def reset(self):
        """Forget orders, catalog, tokens, faults, the request log and the
        rate-limit buckets; thaw the clock."""
        with self._lock:
            self.state = State()
            self.faults.clear()
            self.limiter.reset()
            self._log.clear()
            self.clock.thaw()

    def add_amazon_order(
        self,
        order_id,
        *,
        marketplace_id="ATVPDKIKX0DER",
        items,
        status="UNSHIPPED",
        created_time=None,
        package_items=True,
    ):
        """Create (or replace) an Amazon order; returns :meth:`amazon_order`.

        ``items``: dicts with ``order_item_id``, ``quantity`` and optionally
        ``asin``, ``sku``, ``title``. ``status``: UNSHIPPED, PENDING or
        CANCELLED (shipping states follow from confirmed packages).
        ``marketplace_id``: one Amazon documents (:mod:`.regions`); the order
        lives in that marketplace's region and only that region's host
        (:meth:`amazon_url`) finds it, and getOrder names it in
        ``salesChannel.marketplaceId``. A seller account of the region may
        hold orders of several of its marketplaces (an Amazon.de account's
        Amazon.fr order): confirmShipment wants the order's own
        ``marketplaceId``. ``package_items=False``: getOrder shows this
        order's packages without ``packageItems`` (the contract allows it).
        """
        check_marketplace(marketplace_id)
        order = new_amazon_order(
            order_id,
            marketplace_id=marketplace_id,
            items=items,
            status=status,
            created_time=created_time,
            now=self.clock.utcnow(),
            package_items_shown=package_items,
        )
        with self._lock:
            self.state.amazon_orders[order_id] = order
            return order.as_dict()

    def update_amazon_order(self, order_id, *, status=None, package_items=None):
        """Change a stored Amazon order, packages kept: ``status`` (UNSHIPPED,
        PENDING or CANCELLED, e.g. a cancellation after a confirmation) and
        the ``package_items`` switch of :meth:`add_amazon_order` (None: left
        as is). Returns :meth:`amazon_order`; KeyError if unknown."""
        with self._lock:
            order = self.state.amazon_orders[order_id]
            if status is not None:
                order.status = amazon_base_status(status)
                order.last_updated_time = self.clock.utcnow()
            if package_items is not None:
                order.package_items_shown = bool(package_items)
            return order.as_dict()

    def add_ebay_order(
        self,
        order_id,
        *,
        line_items,
        checkout_status="Complete",
        cancel_state="NONE_REQUESTED",
        created_time=None,
        buyer=None,
    ):
        """Create (or replace) an eBay order seen by Trading and REST alike.

        ``line_items``: dicts with ``quantity`` and optionally
        ``line_item_id`` (the REST lineItemId; default: a generated 14-digit
        id), ``item_id`` (legacy ItemID; default: generated),
        ``transaction_id`` (default "0"), ``variation_id`` (legacyVariationId
        of a multi-variation listing), ``sku``, ``title``. Trading names a line
        only by ``ItemID-TransactionID`` (OrderLineItemID) or the ItemID +
        TransactionID pair; REST only by the lineItemId. ``buyer``: the
        buyer's user id (default: one of its own per order); a tracking number
        may be shared only between orders of the same buyer (KB 5021).
        """
        order = new_ebay_order(
            order_id,
            line_items=line_items,
            checkout_status=checkout_status,
            cancel_state=cancel_state,
            created_time=created_time,
            now=self.clock.utcnow(),
            buyer=buyer,
        )
        with self._lock:
            for line in order.lines.values():
                holder = self.state.ebay_order_of_line(line.order_line_item_id)
                if holder is not None and holder.order_id != order_id:
                    raise ValueError(
                        f"ItemID-TransactionID {line.order_line_item_id!r} already "
                        f"belongs to order {holder.order_id}"
                    )
            self.state.ebay_orders[order_id] = order
            return order.as_dict()

    # -- what a seller does outside the API (Seller Central, Seller Hub) --

    def _seller_order(self, order_id):
        """The stored order (Amazon or eBay) and a function marking it
        changed now (Amazon lastUpdatedTime, eBay last modified time)."""
        now = self.clock.utcnow()
        if order_id in self.state.amazon_orders:
            order = self.state.amazon_orders[order_id]

            def touch():
                order.last_updated_time = now

            return order, touch
        order = self.state.ebay_orders[order_id]  # KeyError: unknown

        def touch():
            order.last_modified_time = now

        return order, touch

    def ship_outside(self, order_id, tracking_number, carrier_code="UPS"):
        """The seller ships the whole order by hand in Seller Central /
        Seller Hub: one package with every line, ``tracking_number``."""
        with self._lock:
            order, touch = self._seller_order(order_id)
            now = self.clock.utcnow()
            if isinstance(order, AmazonOrder):
                ref = str(len(order.packages) + 9_000_001)
                order.packages[ref] = AmazonPackage(
                    package_reference_id=ref,
                    carrier_code=carrier_code,
                    carrier_name="",
                    shipping_method="",
                    tracking_number=tracking_number,
                    ship_date=now,
                    ship_from_supply_source_id="",
                    items=[
                        {
                            "order_item_id": item.order_item_id,
                            "quantity": item.quantity,
                            "transparency_codes": [],
                        }
                        for item in order.items.values()
                    ],
                    created_time=now,
                )
            else:
                order.fulfillments[tracking_number] = EbayFulfillment(
                    fulfillment_id=tracking_number,
                    tracking_number=tracking_number,
                    carrier_code=carrier_code,
                    shipped_date=now,
                    line_items=[(lid, ln.quantity) for lid, ln in order.lines.items()],
                    source="rest",
                )
                for line in order.lines.values():
                    line.shipped_time = line.shipped_time or now
            touch()

    def cancel_order(self, order_id):
        """The order is cancelled on the marketplace."""
        with self._lock:
            order, touch = self._seller_order(order_id)
            if isinstance(order, AmazonOrder):
                order.status = "CANCELLED"
            else:
                order.cancel_state = "CANCELED"
            touch()

    def refund_ebay_order(self, order_id):
        """The seller refunds the buyer of an eBay order in full."""
        with self._lock:
            order, touch = self._seller_order(order_id)
            order.refunded = True
            touch()

    def edit_tracking(self, order_id, tracking_number, new_number=None):
        """The seller removes the package carrying ``tracking_number`` (or
        gives it ``new_number``) in Seller Central / Seller Hub."""
        with self._lock:
            order, touch = self._seller_order(order_id)
            key = tracking_key(tracking_number)
            packages = (
                order.packages if isinstance(order, AmazonOrder) else order.fulfillments
            )
            found = [
                ref
                for ref, package in packages.items()
                if tracking_key(package.tracking_number) == key
            ]
            if not found:
                raise KeyError(f"{order_id} has no package {tracking_number}")
            for ref in found:
                if new_number:
                    packages[ref].tracking_number = new_number
                else:
                    del packages[ref]
            if not isinstance(order, AmazonOrder) and not new_number:
                covered = {
                    lid for f in order.fulfillments.values() for lid, _q in f.line_items
                }
                for lid, line in order.lines.items():
                    if lid not in covered:
                        line.shipped_time = None
            touch()

    def cancel_ebay_order(self, order_id, cancel_state="CANCELED"):
        """Set the cancellation state of a stored eBay order, whatever was
        shipped (a buyer's cancellation after the seller's confirmation):
        Trading shows OrderStatus Cancelled / CancelPending and CancelStatus,
        REST ``cancelStatus.cancelState`` (and ``cancelledDate`` once
        CANCELED). ``cancel_state``: NONE_REQUESTED, IN_PROGRESS or CANCELED.
        Returns :meth:`ebay_order`; KeyError if unknown."""
        check_ebay_cancel_state(cancel_state)
        with self._lock:
            order = self.state.ebay_orders[order_id]
            now = self.clock.utcnow()
            order.cancel_state = cancel_state
            order.cancelled_time = now if cancel_state == "CANCELED" else None
            order.last_modified_time = now
            return order.as_dict()

    def add_catalog_item(self, asin, *, marketplace_id="ATVPDKIKX0DER", **details):
        """Create (or replace) an ASIN's data in one marketplace.

        ``details``: ``title``, ``brand``, ``manufacturer``, ``model_number``,
        ``product_type``, ``item_weight=(value, unit)``,
        ``package_weight=(value, unit)``, ``images=[(variant, width, height)]``,
        ``identifiers=[(type, value)]``.
        """
        check_marketplace(marketplace_id)
        entry = new_catalog_entry(**details)
        with self._lock:
            self.state.catalog.setdefault(asin, {})[marketplace_id] = entry

    def revoke_refresh_token(self, refresh_token):
        """The token endpoints answer ``invalid_grant`` for it from now on."""
        with self._lock:
            self.state.tokens.revoked.add(refresh_token)

    def set_ebay_consent(self, refresh_token, scopes=None):
        """What the seller consented to for an eBay refresh token: the scopes
        a refresh grant may ask for (``None`` = back to the default, every
        scope the sandbox knows). Returns ``{"refresh_token", "scopes"}``."""
        if scopes is not None and (
            isinstance(scopes, str)
            or not all(
                isinstance(scope, str) and scope.startswith(EBAY_SCOPE_BASE)
                for scope in scopes
            )
        ):
            raise ValueError(
                f"scopes must be a list of {EBAY_SCOPE_BASE}... URLs, got {scopes!r}"
            )
        with self._lock:
            tokens = self.state.tokens
            if scopes is None:
                tokens.consents.pop(refresh_token, None)
            else:
                tokens.consents[refresh_token] = frozenset(scopes)
            return {
                "refresh_token": refresh_token,
                "scopes": sorted(tokens.consent(refresh_token)),
            }

    def expire_access_tokens(self):
        """Every access token issued so far becomes expired."""
        with self._lock:
            self.state.tokens.expire_all()

    def inject_fault(self, operation, **options):
        """Make the next matching request(s) misbehave; see :class:`~.faults.Fault`
        for the options. Returns the fault's description."""
        fault = self.faults.add(Fault(operation, **options))
        return dataclasses.asdict(fault)

    def requests(self, operation=None):
        """Copies of the logged marketplace requests, oldest first."""
        with self._lock:
            entries = [e for e in self._log if operation in (None, e["operation"])]
            return copy.deepcopy(entries)

    def amazon_order(self, order_id):
        """The stored Amazon order as a dict (KeyError if unknown)."""
        with self._lock:
            return self.state.amazon_orders[order_id].as_dict()

    def ebay_order(self, order_id):
        """The stored eBay order as a dict (KeyError if unknown)."""
        with self._lock:
            return self.state.ebay_orders[order_id].as_dict()

    def state_view(self):
        """Everything stored, as JSON-ready dicts."""
        with self._lock:
            return {
                "amazon_orders": [
                    o.as_dict() for o in self.state.amazon_orders.values()
                ],
                "ebay_orders": [o.as_dict() for o in self.state.ebay_orders.values()],
                "catalog": sorted(self.state.catalog),
                "faults": self.faults.pending(),
                "clock": {"now": self.clock.now(), "frozen": self.clock.frozen},
            }

    def seed(self, data):
        """Load ``{"amazon_orders": [...], "ebay_orders": [...], "catalog": [...]}``
        where each entry holds the keyword arguments of the ``add_*`` method."""
        for order in data.get("amazon_orders", []):
            self.add_amazon_order(**order)
        for order in data.get("ebay_orders", []):
            self.add_ebay_order(**order)
        for item in data.get("catalog", []):
            self.add_catalog_item(**item)

    def wait_idle(self, timeout=5.0):
        """Wait until no marketplace request is being handled (e.g. one the
        client gave up on during a ``delay`` fault); False on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: self._in_flight == 0, timeout)

    def token_ttl(self, marketplace):
        if self._token_ttl is not None:
            return self._token_ttl
        return DEFAULT_TOKEN_TTL[marketplace]

    # ------------------------------------------------------------- pipeline

    def handle(self, request):
        """Answer one HTTP request (the socket layer is in the handler); a
        sandbox bug answers 500 and is logged, it never drops the socket."""
        try:
            return self._dispatch(request)
        except Exception:
            _logger.exception("sandbox failed on %s %s", request.method, request.path)
            return Response.json(500, {"message": "sandbox internal error"})

    def _dispatch(self, request):
        if request.path.startswith(control.PREFIX) and request.region is None:
            with self._lock:
                return control.dispatch(self, request)
        for route in self._routes:
            if request.region is not None and not route.is_amazon:
                continue  # a regional SP-API host serves Amazon only
            match = route.regex.match(request.path)
            if match and route.method == request.method:
                params = {k: unquote(v) for k, v in match.groupdict().items()}
                with self._busy():
                    return self._serve(route, params, request)
        return Response.json(
            404, {"message": f"No route for {request.method} {request.path}"}
        )

    @contextlib.contextmanager
    def _busy(self):
        with self._idle:
            self._in_flight += 1
        try:
            yield
        finally:
            with self._idle:
                self._in_flight -= 1
                self._idle.notify_all()

    def _serve(self, route, params, request):
        operation = route.operation_for(request)
        with self._lock:
            refs = route.order_refs(self, request, params)
        fault = self.faults.take(operation, refs)
        if fault and fault.delay:
            time.sleep(fault.delay)  # real time: the client's timeout must fire
        if fault and fault.drop:
            with self._lock:
                self._record(request, operation, refs, None, fault)
            return Response(0, drop=True)
        with self._lock:
            response = self._answer(route, params, request, operation, fault)
            response = route.api.finish(self, request, operation, response)
            self._record(request, operation, refs, response.status, fault)
        if fault and fault.answer_lost:
            return Response(0, drop=True)
        return response

    def _answer(self, route, params, request, operation, fault):
        api = route.api
        if fault:
            answer = api.fault_answer(self, request, operation, fault)
            if answer is not None:
                return answer
        identity = api.authenticate(self, request, operation)
        if isinstance(identity, Response):
            return identity
        request.identity = identity
        if not self.limiter.allow(operation, identity):
            return api.throttled(self, request, operation)
        snapshot = self.state.snapshot() if fault and fault.swallow else None
        try:
            return route.handler(self, request, params)
        except Exception:  # a sandbox bug must not look like a network failure
            _logger.exception("sandbox handler for %s failed", operation)
            return api.status_answer(500, None, None)
        finally:
            if snapshot is not None:  # accepted, answered, not recorded
                self.state.restore(snapshot)

    def _record(self, request, operation, refs, status, fault):
        media = request.media_type
        entry = {
            "operation": operation,
            "method": request.method,
            "path": request.path,
            "query": copy.deepcopy(request.query),
            "headers": dict(request.headers),
            "json": json_or_none(request) if "json" in media else None,
            "xml": request.text() if "xml" in media else None,
            "form": _form_or_none(request),
            "status": status,
            "time": self.clock.now(),
            "order_ref": ",".join(sorted(refs)) or None,
            "amazon_region": (
                request.amazon_region if operation.startswith("amazon.") else None
            ),
            "fault": fault.kind if fault else None,
        }
        self._log.append(entry)
        _logger.info(
            "%s %s %s -> %s%s",
            operation,
            request.method,
            request.path,
            "dropped" if status is None else status,
            f" (fault: {fault.kind})" if fault else "",
        )


def _form_or_none(request):
    if request.media_type != "application/x-www-form-urlencoded":
        return None
    try:
        return request.form()
    except ValueError:
        return None


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True  # a sleeping "delay" fault must not block stop()

    def handle_error(self, request, client_address):
        """Called inside the ``except`` of a failed request."""
        error = sys.exc_info()[1]
        if isinstance(error, (ConnectionError, TimeoutError)):
            # Clients that time out or hang up are part of the game.
            _logger.debug("connection from %s ended: %s", client_address, error)
        else:
            _logger.exception("sandbox failed on a request from %s", client_address)


class _HttpServer6(_HttpServer):
    address_family = socket.AF_INET6


class _RequestHandler(BaseHTTPRequestHandler):
    """Turns sockets into :class:`~.wire.Request` and back."""

    protocol_version = "HTTP/1.1"
    server_version = "MarketplaceSandbox/1.0"
    # Headers and body are written separately: without this, every answer on
    # a kept-alive connection waits ~40 ms for Nagle + delayed ACK.
    disable_nagle_algorithm = True
    sandbox = None  # set on the subclass made by SandboxServer.start()
    region = None  # Amazon region of the port; None = the main port

    def do_GET(self):
        self._serve()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_GET

    def _serve(self):
        body = self._read_body()
        url = urlsplit(self.path)
        request = Request(
            method=self.command,
            path=url.path,
            query=parse_qs(url.query, keep_blank_values=True),
            headers={name.lower(): value for name, value in self.headers.items()},
            body=body,
            region=self.region,
        )
        response = self.sandbox.handle(request)
        if response.drop:
            self._drop()
            return
        self._send(response)

    def _read_body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()  # the empty line after the last chunk
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _drop(self):
        """Close the connection without a byte of answer."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _send(self, response):
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        no_body = response.status in (204, 304) or response.status < 200
        if not no_body:
            self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if response.body and not no_body and self.command != "HEAD":
            self.wfile.write(response.body)

    def log_message(self, format, *args):
        _logger.debug("%s - " + format, self.address_string(), *args)
