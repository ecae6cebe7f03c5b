"""HTTP request/response values and the wire formats shared by every API.

Handlers never touch sockets: they receive a :class:`Request` and return a
:class:`Response`, which keeps them small and testable without a server.
"""

import dataclasses
import datetime
import json
import re
import unicodedata
from urllib.parse import parse_qs

from dateutil import parser as isoparser
from lxml import etree

UTC = datetime.UTC

# RFC 3339 date-time (what Swagger/OpenAPI ``format: date-time`` means):
# a full date, "T", a full time and a mandatory offset.
_RFC3339 = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$"
)
# xs:dateTime: like RFC 3339 but the offset is optional (eBay reads "no
# offset" as GMT).
_XS_DATETIME = re.compile(
    r"^-?\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?$"
)

# A parser that never fetches or expands anything from the request.
XML_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, remove_comments=True
)


class BodyError(ValueError):
    """The request body could not be decoded in the expected format."""


@dataclasses.dataclass
class Request:
    """One HTTP request as the sandbox sees it (header names lower-case)."""

    method: str
    path: str
    query: dict  # name -> list of values, as parse_qs gives them
    headers: dict  # lower-case name -> value
    body: bytes = b""
    region: str | None = None  # Amazon region port it came in on; None = main
    # who the access token stands for (an application and selling partner),
    # once the API authenticated it
    identity: str | None = None

    @property
    def amazon_region(self):
        """The Amazon region whose host this is: the main port counts as na."""
        return self.region or "na"

    def header(self, name, default=""):
        return self.headers.get(name.lower(), default)

    def query_values(self, name):
        """Every value of a query parameter, comma-separated lists flattened.

        Swagger 2.0 arrays default to ``collectionFormat: csv``; repeated
        parameters (``multi``) are accepted too and merged.
        """
        values = []
        for raw in self.query.get(name, []):
            values.extend(part for part in raw.split(",") if part != "")
        return values

    def query_one(self, name, default=None):
        values = self.query.get(name)
        return values[0] if values else default

    @property
    def media_type(self):
        """The Content-Type without parameters, lower-case ("" if absent)."""
        return self.header("content-type").split(";")[0].strip().lower()

    def json(self):
        """The body decoded as JSON; raises :class:`BodyError` if it is not."""
        try:
            return json.loads(self.body.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise BodyError(str(exc)) from exc

    def form(self):
        """The body decoded as application/x-www-form-urlencoded, first values."""
        try:
            text = self.body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BodyError(str(exc)) from exc
        return {
            key: values[0]
            for key, values in parse_qs(text, keep_blank_values=True).items()
        }

    def xml(self):
        """The body parsed as XML (root element); raises :class:`BodyError`."""
        if not self.body.strip():
            raise BodyError("empty body")
        try:
            return etree.fromstring(self.body, XML_PARSER)
        except etree.XMLSyntaxError as exc:
            raise BodyError(str(exc)) from exc

    def text(self):
        return self.body.decode("utf-8", errors="replace")


@dataclasses.dataclass
class Response:
    """What a handler answers. ``drop`` = close the socket without answering."""

    status: int
    headers: dict = dataclasses.field(default_factory=dict)
    body: bytes = b""
    drop: bool = False

    @classmethod
    def json(cls, status, payload, headers=None):
        body = json.dumps(payload).encode("utf-8")
        return cls(
            status, {"Content-Type": "application/json", **(headers or {})}, body
        )

    @classmethod
    def xml(cls, element, status=200):
        body = etree.tostring(element, xml_declaration=True, encoding="UTF-8")
        return cls(status, {"Content-Type": "text/xml;charset=utf-8"}, body)

    @classmethod
    def raw(cls, status, body, content_type="text/plain", headers=None):
        if isinstance(body, str):
            body = body.encode("utf-8")
        return cls(status, {"Content-Type": content_type, **(headers or {})}, body)

    @classmethod
    def empty(cls, status, headers=None):
        return cls(status, dict(headers or {}))


def is_rfc3339(value):
    """True for a string in RFC 3339 date-time form that is a real instant."""
    return (
        isinstance(value, str)
        and bool(_RFC3339.match(value))
        and (parse_datetime(value) is not None)
    )


def is_xs_datetime(value):
    """True for a valid xs:dateTime lexical value."""
    return bool(_XS_DATETIME.match(value or "")) and parse_datetime(value) is not None


def parse_datetime(value):
    """An aware UTC datetime from ISO 8601 text, or None. No offset = UTC."""
    try:
        parsed = isoparser.isoparse(value.upper())
    except (AttributeError, TypeError, ValueError, OverflowError):
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def iso_seconds(moment):
    """``2024-12-25T09:15:00Z``: how Orders 2026-01-01 writes instants."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_millis(moment):
    """``2015-08-04T19:09:02.768Z``: how eBay writes instants (REST and XML)."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


# Tracking numbers. No length limit is written in the stored contracts: the
# sandbox caps them at 50 characters (its choice), which the longest real
# formats fit (USPS IMpb with its ZIP routing prefix: 34 digits; DHL
# eCommerce: 30). Control characters are never part of one: eBay REST takes
# letters and digits only (OAS trackingNumber), Amazon's OrderFulfillment
# feed, which confirmShipment replaced, types ShipperTrackingNumber as a
# normalized string (JAXB classes generated from that schema
# bind it with NormalizedStringAdapter: no tab, CR or LF), and XML 1.0 cannot even carry
# most C0 controls to Trading.
MAX_TRACKING_NUMBER = 50


def tracking_number_problem(number):
    """Why ``number`` cannot be a tracking number ("empty", "control
    characters", "too long"), or None."""
    if not number or not number.strip():
        return "empty"
    if any(unicodedata.category(char) == "Cc" for char in number):
        return "control characters"
    if len(number) > MAX_TRACKING_NUMBER:
        return "too long"
    return None
