"""Amazon Selling Partner API client: shipment confirmation, order read-back,
catalog item details.

Contracts (copies in ``shared/specs/amazon``):

* Orders v0 ``confirmShipment`` (``ordersV0.json``), still current and not
  deprecated, unlike the v0 reads;
* Orders 2026-01-01 ``getOrder`` and ``searchOrders``
  (``orders_2026-01-01.json``), which replace the deprecated v0
  ``getOrder``/``getOrderItems``/``getOrders``;
* Catalog Items 2022-04-01 ``getCatalogItem`` (``catalogItems_2022-04-01.json``).

Authentication is a Login with Amazon refresh-token grant; the access token
goes in ``x-amz-access-token``. SigV4 signing is no longer required (SP-API
changelog, 2023-10-02).
"""

import datetime
import urllib.parse

from dateutil import parser as isoparser

from . import base
from .errors import (
    AuthError,
    PermanentError,
    RateLimitedError,
    TransientError,
    is_held_back,
)
from .http import (
    DEFAULT_TIMEOUT,
    HttpClient,
    Operation,
    TokenRejectedError,
    error_for_unexpected_status,
    json_body,
    json_object,
    parse_retry_after,
)
from .pacer import DEFAULT_MAX_WAIT
from .tokens import utcnow
from .urls import check_endpoint_url

LWA_TOKEN_URL = "https://api.amazon.com/auth/o2/token"
# developer-docs.amazon.com/sp-api/docs/sp-api-endpoints; the sandbox hosts
# carry a "sandbox." prefix.
REGION_HOSTS = {
    "na": "sellingpartnerapi-na.amazon.com",
    "eu": "sellingpartnerapi-eu.amazon.com",
    "fe": "sellingpartnerapi-fe.amazon.com",
}
REGION_NAMES = {"na": "North America", "eu": "Europe", "fe": "Far East"}
ENVIRONMENTS = ("production", "sandbox")

# Every marketplace id of Amazon's "Marketplace IDs" page
# (developer-docs.amazon.com/sp-api/docs/marketplace-ids), with the selling
# region whose endpoint serves it ("SP-API Endpoints", same site; the region
# lists are also in shared/notes/amazon-sp-api.md §4). The 2021 developer
# guide printed Canada as A2EUQ1WTGCTBG; the current page has ...BG2.
MARKETPLACES = {
    # North America: https://sellingpartnerapi-na.amazon.com
    "A2EUQ1WTGCTBG2": ("CA", "Canada", "na"),
    "ATVPDKIKX0DER": ("US", "United States of America", "na"),
    "A1AM78C64UM0Y8": ("MX", "Mexico", "na"),
    "A2Q3Y263D00KWC": ("BR", "Brazil", "na"),
    # Europe: https://sellingpartnerapi-eu.amazon.com
    "A28R8C7NBKEWEA": ("IE", "Ireland", "eu"),
    "A1RKKUPIHCS9HS": ("ES", "Spain", "eu"),
    "A1F83G8C2ARO7P": ("UK", "United Kingdom", "eu"),
    "A13V1IB3VIYZZH": ("FR", "France", "eu"),
    "AMEN7PMS3EDWL": ("BE", "Belgium", "eu"),
    "A1805IZSGTT6HS": ("NL", "Netherlands", "eu"),
    "A1PA6795UKMFR9": ("DE", "Germany", "eu"),
    "APJ6JRA9NG5V4": ("IT", "Italy", "eu"),
    "A2NODRKZP88ZB9": ("SE", "Sweden", "eu"),
    "AE08WJ6YKNBMC": ("ZA", "South Africa", "eu"),
    "A1C3SOZRARQ6R3": ("PL", "Poland", "eu"),
    "ARBP9OOSHTCHU": ("EG", "Egypt", "eu"),
    "A33AVAJ2PDY3EV": ("TR", "Turkey", "eu"),
    "A17E79C6D8DWNP": ("SA", "Saudi Arabia", "eu"),
    "A2VIGQ35RCS4UG": ("AE", "United Arab Emirates", "eu"),
    "A21TJRUUN4KGV": ("IN", "India", "eu"),
    # Far East: https://sellingpartnerapi-fe.amazon.com
    "A19VAU5U5O7RUS": ("SG", "Singapore", "fe"),
    "A39IBJ37TRP1C6": ("AU", "Australia", "fe"),
    "A1VC38T7YXB528": ("JP", "Japan", "fe"),
}
#: marketplace id -> "na" / "eu" / "fe"
MARKETPLACE_REGIONS = {mid: region for mid, (_c, _n, region) in MARKETPLACES.items()}


def region_for_marketplace(marketplace_id):
    """The SP-API region ("na", "eu" or "fe") whose endpoint serves
    ``marketplace_id``; ValueError naming the id when Amazon lists no such
    marketplace."""
    region = MARKETPLACE_REGIONS.get((marketplace_id or "").strip())
    if region is None:
        raise ValueError(
            f"Unknown Amazon marketplace id {marketplace_id!r}: not one of the "
            "SP-API marketplace ids (developer-docs.amazon.com/sp-api/docs/"
            "marketplace-ids)"
        )
    return region


def _check_region(marketplace_id, region):
    """The region to use: ``region`` if given (it must serve the
    marketplace), else the marketplace's."""
    if region is not None and region not in REGION_HOSTS:
        raise ValueError(f"Unknown Amazon region {region!r}")
    known = MARKETPLACES.get((marketplace_id or "").strip())
    if known is None:
        if region is None:
            region_for_marketplace(marketplace_id)  # raises, naming the id
        # A marketplace newer than the list above: the caller's region.
        return region
    _code, country, served_by = known
    if region is not None and region != served_by:
        raise ValueError(
            f"Marketplace {marketplace_id} ({country}) is served by the "
            f"{REGION_NAMES[served_by]} ({served_by}) endpoint, not "
            f"{REGION_NAMES[region]} ({region})"
        )
    return served_by


# Default usage plans, from each operation's description in the models.
CONFIRM_SHIPMENT = Operation("confirmShipment", base.API_AMAZON_WRITEBACK, 2.0, 10)
GET_ORDER = Operation("getOrder", base.API_AMAZON_ORDERS, 0.5, 30)
SEARCH_ORDERS = Operation("searchOrders", base.API_AMAZON_ORDERS, 0.0056, 20)
GET_CATALOG_ITEM = Operation("getCatalogItem", base.API_AMAZON_PRODUCTS, 2.0, 2)
DOWNLOAD_IMAGE = Operation("downloadImage", base.API_AMAZON_PRODUCTS)

# Orders 2026-01-01 FulfillmentStatus, as Seller Central words it.
STATUS_LABELS = {
    "PENDING_AVAILABILITY": "Pending availability",
    "PENDING": "Pending",
    "UNSHIPPED": "Unshipped",
    "PARTIALLY_SHIPPED": "Partially shipped",
    "SHIPPED": "Shipped",
    "CANCELLED": "Canceled",
    "UNFULFILLABLE": "Unfulfillable",
}
ORDER_INCLUDED_DATA = ("FULFILLMENT", "PACKAGES")
# searchOrders: "The value must be between 1 and 100. Default: 100".
SEARCH_PAGE_SIZE = 100
# Taken off ``since`` for lastUpdatedAfter: Amazon stamps lastUpdatedTime
# when it records the confirmation, by its own clock (a synchronised clock
# is off by far less). Every minute of margin costs pages: at 2
# confirmations a second, 120 orders already verified.
SEARCH_SINCE_MARGIN = datetime.timedelta(minutes=1)
# Amazon's lastUpdatedTime is given to the second: the next search starts
# one step after the latest a whole result set showed (an order updated
# again within that second is read singly, never lost).
CURSOR_STEP = datetime.timedelta(seconds=1)
# (seller key, marketplace id, search scope) -> where the seller's next
# read-back search starts (see AmazonClient.read_orders): kept by the
# process, like the pacer's buckets, so that every run of a worker goes on
# from the last one; the engine keeps the views the searches carried as
# long.
SEARCH_CURSORS = {}
# Only orders a confirmation can have moved: an order still UNSHIPPED shows
# no package yet, and its ref, left out, is read singly anyway.
SEARCH_FULFILLMENT_STATUSES = ("PARTIALLY_SHIPPED", "SHIPPED", "CANCELLED")
# Reconciliation (changed_orders): every status an order a seller ships can
# be in once it may be shipped, so that shipments, cancellations and
# packages removed (the order UNSHIPPED again) all show.
CHANGED_FULFILLMENT_STATUSES = (
    "UNSHIPPED",
    "PARTIALLY_SHIPPED",
    "SHIPPED",
    "CANCELLED",
)
# lastUpdatedBefore "must be ... at least two minutes before the time of the
# request"; one more minute for the clocks' difference.
SEARCH_BEFORE_LAG = datetime.timedelta(minutes=3)
CATALOG_INCLUDED_DATA = ("summaries", "dimensions", "images", "identifiers")
MAX_DOWNLOAD_BYTES = 10 * 1024 * 1024
MAX_DOWNLOAD_REDIRECTS = 3


class AmazonClient(HttpClient):
    """One Amazon seller account (one marketplace) on the Selling Partner API.

    Every method raises one of :mod:`.errors` or returns its documented
    result; every HTTP exchange is reported to ``on_call``.
    """

    marketplace = "Amazon"
    read_batch_size = SEARCH_PAGE_SIZE
    read_operation = GET_ORDER
    # Whose search cursor this client moves (SEARCH_CURSORS): the caller
    # that keeps the orders the searches carried (the engine: its
    # database), so that two such callers never skip each other's orders.
    search_scope = None

    def __init__(
        self,
        *,
        client_id,
        client_secret,
        refresh_token,
        marketplace_id,
        region=None,
        environment="production",
        api_base_url=None,
        auth_url=None,
        timeout=DEFAULT_TIMEOUT,
        on_call=None,
        session=None,
        max_wait=DEFAULT_MAX_WAIT,
        allow_http_loopback=True,
    ):
        """``region``: "na", "eu" or "fe"; None = the one serving
        ``marketplace_id`` (:data:`MARKETPLACE_REGIONS`). A region that does
        not serve the marketplace, or an unknown marketplace without a
        region, is a ValueError. The default host is the region's."""
        region = _check_region(marketplace_id, region)
        if environment not in ENVIRONMENTS:
            raise ValueError(f"Unknown Amazon environment {environment!r}")
        if not api_base_url:
            prefix = "sandbox." if environment == "sandbox" else ""
            api_base_url = f"https://{prefix}{REGION_HOSTS[region]}"
        super().__init__(
            client_id=client_id,
            client_secret=client_secret,
            refresh_token=refresh_token,
            api_base_url=api_base_url,
            token_url=auth_url or LWA_TOKEN_URL,
            timeout=timeout,
            on_call=on_call,
            session=session,
            max_wait=max_wait,
            allow_http_loopback=allow_http_loopback,
        )
        self.marketplace_id = marketplace_id
        self.region = region

    # -- Login with Amazon -------------------------------------------------

    def _token_request(self):
        # LWA: form-encoded refresh_token grant with the client credentials in
        # the body (SP-API developer guide, "Connecting to the SP-API").
        return {
            "data": {
                "grant_type": "refresh_token",
                "refresh_token": self._refresh_token,
                "client_id": self.client_id,
                "client_secret": self._client_secret,
            },
            "headers": {"Accept": "application/json"},
        }

    def probe(self, api=base.API_AMAZON_WRITEBACK):
        """Health check for one of the account's API keys: a fresh token
        exchange, journaled under ``api``. Returns nothing; raises like any
        call."""
        if api not in (
            base.API_AMAZON_ORDERS,
            base.API_AMAZON_WRITEBACK,
            base.API_AMAZON_PRODUCTS,
        ):
            raise ValueError(f"Not an Amazon API key: {api!r}")
        self._renew_access_token(api)

    # -- operations --------------------------------------------------------

    def confirm_shipment(self, shipment):
        """Confirm each package of ``shipment`` with one ``confirmShipment``.

        Returns a :class:`~.base.ConfirmResult` once Amazon has accepted every
        package (HTTP 204). Safe to repeat: Amazon treats a confirmation with
        an already used ``packageReferenceId`` as an edit of that package
        ("Confirm the shipment status", SP-API docs), so a retry after a
        partial failure does not create duplicates.
        """
        if not shipment.packages:
            raise PermanentError(f"Shipment for {shipment.order_ref} has no packages")
        # The order's own marketplace (a pan-European seller's account holds
        # orders of every marketplace of its region), else the account's.
        marketplace_id = shipment.marketplace_id or self.marketplace_id
        self._check_order_marketplace(shipment, marketplace_id)
        # Validate every package before sending the first one.
        payloads = [
            confirmation_payload(shipment, package, marketplace_id)
            for package in shipment.packages
        ]
        path = f"/orders/v0/orders/{_quote(shipment.order_ref)}/shipmentConfirmation"
        for payload in payloads:
            self._sp_api(
                CONFIRM_SHIPMENT,
                "POST",
                path,
                parse=self._no_content,
                order_ref=shipment.order_ref,
                json=payload,
            )
        return base.ConfirmResult(
            message=f"Amazon accepted {len(payloads)} package(s) "
            f"for {shipment.order_ref}"
        )

    def _check_order_marketplace(self, shipment, marketplace_id):
        """PermanentError when ``marketplace_id`` is one Amazon lists in
        another region than this account's: that region's endpoint alone
        serves it ("SP-API Endpoints"), so this account cannot confirm it."""
        known = MARKETPLACES.get(marketplace_id)
        if known and known[2] != self.region:
            _code, country, served_by = known
            raise PermanentError(
                f"Order {shipment.order_ref} was placed on the {country} "
                f"marketplace ({marketplace_id}), served by Amazon's "
                f"{REGION_NAMES[served_by]} endpoint: this account is in "
                f"{REGION_NAMES[self.region]}."
            )

    def request_count(self, shipment):
        """Requests :meth:`confirm_shipment` sends: one ``confirmShipment``
        per package. Never raises."""
        return len(shipment.packages)

    def send_delay(self, shipment=None):
        """Seconds before :meth:`confirm_shipment` could send ``shipment``
        without any pacing sleep (0.0: now): until the seller's
        ``confirmShipment`` bucket holds one token per package (one when no
        shipment is given). Consumes nothing; never raises."""
        count = len(shipment.packages) if shipment is not None else 1
        return self._pacing_delay(CONFIRM_SHIPMENT, max(1, count))

    def sends_within(self, seconds):
        """How many one-package confirmations could start within
        ``seconds`` at the seller's ``confirmShipment`` rate (its bucket
        now, and the refill)."""
        return self._pacing_capacity(CONFIRM_SHIPMENT, seconds)

    def read_order(self, order_ref):
        """Amazon's view of the order (Orders 2026-01-01 ``getOrder`` with
        fulfillment status and packages) as a :class:`~.base.OrderView`."""
        return self._sp_api(
            GET_ORDER,
            "GET",
            "/orders/2026-01-01/orders/" + _quote(order_ref),
            parse=lambda response: order_view(order_ref, _json_object(response)),
            order_ref=order_ref,
            # Swagger 2.0 arrays without collectionFormat are "csv".
            params={"includedData": ",".join(ORDER_INCLUDED_DATA)},
        )

    def read_orders(self, order_refs, since=None, backlog=0, coming=0):
        """Amazon's view of several orders, ``{order_ref: OrderView}``,
        picked by volume:

        * refs that getOrder's bucket covers now, together with the rest of
          the seller's ``backlog`` of reads waiting (and any call without
          ``since``): ``{}``, the engine reads them with :meth:`read_order`;
        * more: ``searchOrders`` of this marketplace's merchant-fulfilled
          orders updated since ``since`` (less :data:`SEARCH_SINCE_MARGIN`)
          that a confirmation can have moved (:data:`SEARCH_FULFILLMENT_STATUSES`),
          100 a page with getOrder's data (``FULFILLMENT``, ``PACKAGES``),
          every page to the last. Each page needs a token of the seller's
          searchOrders bucket (0.0056/s, burst 20) available now: with none,
          the pages read so far are what it returns, never a wait and never
          an error. The other orders the pages carried are returned too
          (the engine keeps them for its next batches).

        A page refills in 3 minutes: it is spent on fewer than 100 orders
        only when nothing more is ``coming`` (:meth:`_search_worth_it`);
        otherwise ``{}`` (getOrder's bucket first, the rest wait for a
        page's worth). A search read to its last
        page moves the seller's cursor (kept by the process) to the latest
        update it saw (by
        Amazon's own clock): the next search starts there, not at ``since``
        less the margin, and carries only orders changed since.
        """
        wanted = list(dict.fromkeys(str(ref) for ref in order_refs if ref))
        if not wanted or since is None:
            return {}
        due = max(len(wanted), backlog)
        single = self._pacing_capacity(GET_ORDER, 0)
        if single is not None and due <= single:
            return {}
        if not self._search_worth_it(due, coming):
            return {}
        after = since - SEARCH_SINCE_MARGIN
        cursor = SEARCH_CURSORS.get(self._cursor_key())
        if cursor is not None:
            after = max(after, cursor)
        params = search_params(self.marketplace_id, after, utcnow())
        found, token, latest = {}, None, None
        while True:
            page = self._search_page(params, token)
            if page is None:
                break
            orders, token = page
            for order in orders:
                ref = str(order.get("orderId") or "")
                if ref:
                    found[ref] = _order_view(ref, order)
                updated = _updated_time(order)
                if updated is not None and (latest is None or updated > latest):
                    latest = updated
            if not token:
                # the whole result set: nothing changed before ``latest``
                # that it did not carry
                if latest is not None:
                    SEARCH_CURSORS[self._cursor_key()] = max(
                        latest + CURSOR_STEP, after
                    )
                break
        return found

    def _cursor_key(self):
        return (self.seller_key, self.marketplace_id, self.search_scope)

    def _search_worth_it(self, due, coming):
        """Whether a searchOrders page may be spent on ``due`` orders now:
        a page refills in 3 minutes, so it goes for a page's worth (100),
        or for the last ones (nothing more ``coming``); in between, getOrder
        reads what its bucket allows and the rest wait. True without a usage
        plan for searchOrders."""
        pages = self._pacing_capacity(SEARCH_ORDERS, 0)
        if pages is None:
            return True
        if pages < 1:
            return False
        return due >= SEARCH_PAGE_SIZE or coming <= 0

    def _search_page(self, params, token=None):
        """One ``searchOrders`` page (``params``, from page ``token``):
        ``(orders, next page token)``, or None when the seller's bucket has
        no token now (the client's pacing: never a wait, never an error).
        Amazon's own 429 raises."""
        if self._pacing_delay(SEARCH_ORDERS) != 0.0:
            return None
        try:
            return self._sp_api(
                SEARCH_ORDERS,
                "GET",
                "/orders/2026-01-01/orders",
                parse=lambda response: search_page(_json_object(response)),
                not_found="Amazon found no orders to search",
                params=dict(params, paginationToken=token) if token else params,
            )
        except RateLimitedError as err:
            if not is_held_back(err):
                raise  # Amazon's own 429: a marketplace error
            return None  # another thread took the token meanwhile

    def changed_orders(self, since, until=None, resume=""):
        """The merchant-fulfilled orders of this marketplace that Amazon
        updated within ``[since, until]`` (:data:`CHANGED_FULFILLMENT_STATUSES`),
        read with ``searchOrders`` (``lastUpdatedAfter`` /
        ``lastUpdatedBefore``, 100 a page with getOrder's data) from the
        page token ``resume``. ``until`` is at most three minutes ago (Amazon
        takes a ``lastUpdatedBefore`` at least two minutes old). A page
        goes only when the seller's searchOrders bucket (0.0056/s, burst 20)
        has a token now: without one it returns the pages read so far,
        ``complete`` false and the next page's token, never a wait."""
        now = _aware(utcnow())
        since, until = _aware(since), _aware(until or now)
        until = base.window_end(min(until, now - SEARCH_BEFORE_LAG))
        if until <= since:
            return base.ChangedOrders([], since, since)
        params = search_params(
            self.marketplace_id,
            since,
            now,
            updated_before=until,
            statuses=CHANGED_FULFILLMENT_STATUSES,
        )
        orders, pages, token = [], 0, resume or None
        while True:
            read = self._search_page(params, token)
            if read is None:
                break
            page, token = read
            pages += 1
            orders.extend(
                _order_view(str(order.get("orderId") or ""), order)
                for order in page
                if order.get("orderId")
            )
            if not token:
                return base.ChangedOrders(orders, since, until, pages=pages)
        return base.ChangedOrders(
            orders, since, until, complete=False, resume=token or "", pages=pages
        )

    def reads_within(self, seconds):
        """Orders that could be read within ``seconds`` at this seller's
        rates: getOrder's bucket (one order a request) plus searchOrders'
        (at most :data:`SEARCH_PAGE_SIZE` orders a page). Consumes nothing;
        never raises."""
        single = self._pacing_capacity(GET_ORDER, seconds) or 0
        pages = self._pacing_capacity(SEARCH_ORDERS, seconds) or 0
        return single + pages * SEARCH_PAGE_SIZE

    def get_catalog_item(self, asin):
        """Product details of ``asin`` in the account's marketplace, see
        :func:`catalog_item` for the shape. Unknown ASIN: PermanentError."""
        if not asin or not str(asin).strip():
            raise PermanentError("No ASIN given for the Amazon catalog lookup")
        return self._sp_api(
            GET_CATALOG_ITEM,
            "GET",
            "/catalog/2022-04-01/items/" + _quote(asin),
            parse=lambda response: catalog_item(
                asin, _json_object(response), self.marketplace_id
            ),
            not_found=f"Amazon has no catalog item with ASIN {asin}",
            params={
                "marketplaceIds": self.marketplace_id,
                "includedData": ",".join(CATALOG_INCLUDED_DATA),
            },
        )

    def download(self, url, max_bytes=MAX_DOWNLOAD_BYTES):
        """The bytes at ``url`` (e.g. a catalog image), at most ``max_bytes``
        of them, no credentials sent. Every URL, each redirect's target
        included (at most :data:`MAX_DOWNLOAD_REDIRECTS` of them), must pass
        the account's endpoint rule: https, or loopback http for a sandbox
        account only."""
        for _hop in range(MAX_DOWNLOAD_REDIRECTS + 1):
            try:
                url = check_endpoint_url(url, self.allow_http_loopback)
            except ValueError as exc:
                raise PermanentError(f"Image not downloaded: {exc}") from None
            answer = {}
            try:
                return self._call(
                    DOWNLOAD_IMAGE.api,
                    DOWNLOAD_IMAGE.name,
                    "GET",
                    url,
                    parse=lambda response: _read_capped(response, max_bytes),
                    stream=True,
                    follow_redirects=False,
                    observe=lambda response, answer=answer: answer.update(
                        location=response.headers.get("Location") or ""
                    ),
                )
            except AuthError as exc:
                if exc.code != "redirect" or not answer.get("location"):
                    raise
                url = urllib.parse.urljoin(url, answer["location"])
        raise PermanentError(
            f"Image not downloaded: more than {MAX_DOWNLOAD_REDIRECTS} redirects"
        )

    # -- plumbing ------------------------------------------------------------

    def _sp_api(
        self, operation, method, path, *, parse, order_ref="", not_found="", **kwargs
    ):
        """One SP-API operation: paced, authorized, journaled, with the
        refresh-once rule of :meth:`HttpClient._with_token`. ``not_found`` is
        the message for a 404."""
        not_found = not_found or f"Amazon has no order {order_ref} (order not found)"
        url = self.api_base_url + path

        def check_and_parse(response):
            self._raise_for_status(response, operation, not_found)
            return parse(response)

        def headers_for(access_token):
            return {
                "x-amz-access-token": access_token,
                # Listed by the developer guide ("Step 3"); harmless without
                # SigV4 and kept for proxies that still look at it.
                "x-amz-date": utcnow().strftime("%Y%m%dT%H%M%SZ"),
                "Accept": "application/json",
            }

        return self._authorized_call(
            operation,
            method,
            url,
            headers_for=headers_for,
            parse=check_and_parse,
            order_ref=order_ref,
            **kwargs,
        )

    def _raise_for_status(self, response, operation, not_found):
        """Map an SP-API error answer onto :mod:`.errors`. Error bodies are
        ``{"errors": [{"code", "message", "details"}]}`` in every model."""
        status = response.status_code
        if 200 <= status < 300:
            return
        code, message = _first_error(response)
        if status == 400:
            raise PermanentError(
                message or "Amazon rejected the request as invalid",
                code=code or "InvalidInput",
                http_status=status,
            )
        if status == 404:
            text = f"{not_found}: {message}" if message else not_found
            raise PermanentError(text, code=code or "NotFound", http_status=status)
        if status in (401, 403):
            # 403 covers "Access Denied, Unauthorized, Expired Token" (model).
            raise TokenRejectedError(
                message or "Amazon denied access to this operation",
                code=code or "Unauthorized",
                http_status=status,
            )
        if status == 429:
            # Amazon sends no Retry-After as a rule ("repeated throttled
            # requests require a back off strategy", amazon-sp-api.md §6):
            # without one, retry_after stays None and the engine applies its
            # own growing delay.
            raise RateLimitedError(
                message or f"Amazon is throttling {operation.name}",
                code=code or "QuotaExceeded",
                http_status=status,
                retry_after=parse_retry_after(response.headers.get("Retry-After")),
            )
        if status >= 500:
            raise TransientError(
                message or f"Amazon failed on {operation.name} (HTTP {status})",
                code=code,
                http_status=status,
            )
        if message:
            raise PermanentError(message, code=code, http_status=status)
        raise error_for_unexpected_status(self.marketplace, operation.name, response)

    @staticmethod
    def _no_content(response):
        return None


# --------------------------------------------------------------------------
# Payloads and answers (pure functions)
# --------------------------------------------------------------------------


def confirmation_payload(shipment, package, marketplace_id):
    """The ``ConfirmShipmentRequest`` for one package (ordersV0.json).

    Raises :class:`~.errors.PermanentError` for data Amazon is documented to
    refuse, so no request is wasted on it.
    """
    package_ref = str(package.package_ref)
    # "Only positive numeric values are supported" — and it must be a JSON
    # string: a number gets 400 InvalidInput (selling-partner-api-models#5094).
    if not (package_ref.isascii() and package_ref.isdigit()) or int(package_ref) <= 0:
        raise PermanentError(
            f"Package reference {package_ref!r} must be a positive number for Amazon"
        )
    if not package.tracking_number:
        raise PermanentError("Amazon requires a tracking number for every package")
    if not package.items:
        raise PermanentError(f"Package {package_ref} has no order items")
    if shipment.carrier_code == "Other" and not shipment.carrier_name:
        raise PermanentError(
            'Amazon requires a carrier name when the carrier is "Other"'
        )
    # Keys in PackageDetail order. carrierName is "Required when carrierCode
    # is Other"; Amazon's own sandbox example also sends it with a named
    # carrier, so it goes along whenever it is known.
    detail = {"packageReferenceId": package_ref, "carrierCode": shipment.carrier_code}
    if shipment.carrier_name:
        detail["carrierName"] = shipment.carrier_name
    if shipment.shipping_method:
        detail["shippingMethod"] = shipment.shipping_method
    detail["trackingNumber"] = package.tracking_number
    detail["shipDate"] = base.utc_iso(shipment.ship_date)
    detail["orderItems"] = [
        {"orderItemId": str(item.item_ref), "quantity": int(item.quantity)}
        for item in package.items
    ]
    return {"marketplaceId": marketplace_id, "packageDetail": detail}


def _aware(value):
    """A datetime as aware UTC (naive = UTC, as Odoo stores them)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=datetime.UTC)
    return value.astimezone(datetime.UTC)


def search_params(
    marketplace_id,
    updated_after,
    now,
    updated_before=None,
    statuses=SEARCH_FULFILLMENT_STATUSES,
):
    """The query of a ``searchOrders`` by last update (orders_2026-01-01.json):
    ``lastUpdatedAfter`` in UTC with Z (never later than ``now``), and
    ``lastUpdatedBefore`` when given, the account's marketplace,
    merchant-fulfilled orders in ``statuses`` (default: those a
    confirmation leads to), getOrder's datasets, 100 a page. Swagger 2.0
    arrays without collectionFormat are csv."""
    updated_after, now = _aware(updated_after), _aware(now)
    params = {
        "lastUpdatedAfter": base.utc_iso(min(updated_after, now)),
    }
    if updated_before is not None:
        params["lastUpdatedBefore"] = base.utc_iso(_aware(updated_before))
    return params | {
        "fulfillmentStatuses": ",".join(statuses),
        "marketplaceIds": marketplace_id,
        "fulfilledBy": "MERCHANT",
        "maxResultsPerPage": SEARCH_PAGE_SIZE,
        "includedData": ",".join(ORDER_INCLUDED_DATA),
    }


def _updated_time(order):
    """An Order's ``lastUpdatedTime`` as an aware UTC datetime, or None."""
    value = order.get("lastUpdatedTime")
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = isoparser.isoparse(value)
    except (ValueError, OverflowError):
        return None
    if parsed.tzinfo is None:
        return None
    return parsed.astimezone(datetime.UTC)


def search_page(body):
    """``(orders, nextToken or None)`` of a ``SearchOrdersResponse``
    (``orders`` required; ``pagination`` absent on the last page)."""
    orders = body.get("orders")
    if not isinstance(orders, list):
        raise TransientError(
            "Amazon's searchOrders answer has no orders", code="malformed"
        )
    pagination = body.get("pagination")
    token = pagination.get("nextToken") if isinstance(pagination, dict) else None
    return [o for o in orders if isinstance(o, dict)], (str(token) if token else None)


def order_view(order_ref, body):
    """An :class:`~.base.OrderView` from a 2026-01-01 ``GetOrderResponse``."""
    order = body.get("order")
    if not isinstance(order, dict):
        raise TransientError("Amazon's getOrder answer has no order", code="malformed")
    return _order_view(order_ref, order)


def _order_view(order_ref, order):
    """An :class:`~.base.OrderView` from a 2026-01-01 ``Order`` (getOrder's
    ``order``, or one of searchOrders' ``orders``)."""
    status = (order.get("fulfillment") or {}).get("fulfillmentStatus") or ""
    packages = [
        _package_view(p) for p in order.get("packages") or [] if isinstance(p, dict)
    ]
    # Order.salesChannel is required: the marketplace the order was placed on.
    channel = order.get("salesChannel")
    channel = channel if isinstance(channel, dict) else {}
    ship_times = [p.ship_time for p in packages if p.ship_time]
    return base.OrderView(
        order_ref=order.get("orderId") or order_ref,
        status=status,
        status_label=STATUS_LABELS.get(status, status.replace("_", " ").capitalize()),
        shipped_time=max(ship_times) if ship_times else "",
        cancelled=status == "CANCELLED",
        last_updated=str(order.get("lastUpdatedTime") or ""),
        packages=packages,
        # Order.orderItems is required: "items always included" in getOrder.
        lines=[
            _order_line(item)
            for item in order.get("orderItems") or []
            if isinstance(item, dict)
        ],
        marketplace_id=str(channel.get("marketplaceId") or ""),
    )


def _order_line(item):
    """A :class:`~.base.OrderLine` from an ``OrderItem`` (2026-01-01)."""
    product = item.get("product") if isinstance(item.get("product"), dict) else {}
    quantity = item.get("quantityOrdered")
    return base.OrderLine(
        line_item_id=str(item.get("orderItemId") or ""),
        sku=str(product.get("sellerSku") or ""),
        quantity=quantity if isinstance(quantity, int) else None,
        title=str(product.get("title") or ""),
    )


def _package_view(package):
    """A :class:`~.base.PackageView` from an ``OrderPackage``. Only
    packageReferenceId is required there: a package without ``packageItems``
    has no items (``[]``: the read-back cannot tell its lines)."""
    return base.PackageView(
        package_ref=str(package.get("packageReferenceId") or ""),
        carrier=package.get("carrier") or "",
        tracking_number=package.get("trackingNumber") or "",
        ship_time=package.get("shipTime") or "",
        status=(package.get("packageStatus") or {}).get("status") or "",
        items=[
            (str(item.get("orderItemId") or ""), item.get("quantity"))
            for item in package.get("packageItems") or []
            if isinstance(item, dict)
        ],
    )


def catalog_item(asin, body, marketplace_id):
    """The product details the addon uses, from a 2022-04-01 ``Item``::

        {"asin", "title", "brand",
         "item_weight": (value, unit) | None,
         "package_weight": (value, unit) | None,
         "main_image": {"link", "width", "height"} | None,
         "identifiers": {identifierType: identifier}}

    Weights keep Amazon's unit ("pounds", "kilograms"...): it varies per item.
    ``main_image`` is the largest ``MAIN`` variant (Amazon returns several
    sizes of it).
    """
    summary = _for_marketplace(body.get("summaries"), marketplace_id) or {}
    dimensions = _for_marketplace(body.get("dimensions"), marketplace_id) or {}
    images = (_for_marketplace(body.get("images"), marketplace_id) or {}).get("images")
    identifiers = _for_marketplace(body.get("identifiers"), marketplace_id) or {}
    by_type = {}
    for identifier in identifiers.get("identifiers") or []:
        by_type.setdefault(
            identifier.get("identifierType"), identifier.get("identifier")
        )
    return {
        "asin": body.get("asin") or asin,
        "title": summary.get("itemName") or "",
        "brand": summary.get("brand") or "",
        "item_weight": _weight(dimensions.get("item")),
        "package_weight": _weight(dimensions.get("package")),
        "main_image": _main_image(images or []),
        "identifiers": by_type,
    }


def _for_marketplace(entries, marketplace_id):
    """The entry of a per-marketplace list for ``marketplace_id``, else the
    first one."""
    entries = [e for e in entries or [] if isinstance(e, dict)]
    for entry in entries:
        if entry.get("marketplaceId") == marketplace_id:
            return entry
    return entries[0] if entries else None


def _weight(dimensions):
    weight = (dimensions or {}).get("weight") or {}
    if weight.get("value") is None:
        return None
    return (weight["value"], weight.get("unit") or "")


def _main_image(images):
    mains = [i for i in images if i.get("variant") == "MAIN" and i.get("link")]
    if not mains:
        return None
    best = max(mains, key=lambda i: (i.get("width") or 0) * (i.get("height") or 0))
    return {
        "link": best["link"],
        "width": best.get("width"),
        "height": best.get("height"),
    }


def _json_object(response):
    return json_object(response, "Amazon")


def _first_error(response):
    """(code, message) of the first SP-API error in the body, or blanks."""
    body = json_body(response)
    error = {}
    if isinstance(body, dict):
        errors = body.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            error = errors[0]
        elif "code" in body or "message" in body:
            error = body  # some 403s come back unwrapped
    message = str(error.get("message") or "")
    if error.get("details"):
        message = (
            f"{message} ({error['details']})" if message else str(error["details"])
        )
    return (str(error.get("code") or "") or None, message)


def _read_capped(response, max_bytes):
    if response.status_code != 200:
        raise error_for_unexpected_status("Amazon", DOWNLOAD_IMAGE.name, response)
    declared = response.headers.get("Content-Length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise PermanentError(f"Download refused: larger than {max_bytes} bytes")
    chunks, size = [], 0
    for chunk in response.iter_content(chunk_size=64 * 1024):
        size += len(chunk)
        if size > max_bytes:
            raise PermanentError(f"Download refused: larger than {max_bytes} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _quote(value):
    return urllib.parse.quote(str(value), safe="")
