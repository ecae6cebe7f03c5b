"""What every API family must say for itself: how it authenticates, how it
throttles, and what its injected faults look like on the wire."""

import json
from http import HTTPStatus

from .wire import Response


class Api:
    """Base for an API family (Amazon SP-API, LWA, eBay REST, Trading...).

    The server calls, in order: :meth:`authenticate`, then (if the rate limit
    says so) :meth:`throttled`, else the operation's handler; every answer
    goes through :meth:`finish`. Faults replace the answer with
    :meth:`fault_answer`.
    """

    name = "api"

    def authenticate(self, sandbox, request, operation):
        """The caller's identity (str) for rate limiting, or an error Response."""
        return "anonymous"

    def throttled(self, sandbox, request, operation):
        return Response.json(429, {"message": "Too Many Requests"})

    def error_body(self, status):
        """The JSON body this API sends with an HTTP error of ``status``."""
        return {"message": reason_phrase(status)}

    def malformed(self, sandbox, request, operation):
        """A 200 whose body cannot be decoded (a truncated JSON document)."""
        return Response.raw(200, '{"unexpected": tru', "application/json")

    def trading_error(self, sandbox, request, operation, error):
        raise NotImplementedError

    def rest_error(self, sandbox, request, operation, error):
        raise NotImplementedError

    def fault_answer(self, sandbox, request, operation, fault):
        """The Response for a fault that replaces the answer, or None when the
        request is to be handled (delay-only and swallow faults)."""
        if fault.malformed:
            return self.malformed(sandbox, request, operation)
        if fault.trading_error:
            return self.trading_error(sandbox, request, operation, fault.trading_error)
        if fault.rest_error:
            return self.rest_error(sandbox, request, operation, fault.rest_error)
        if fault.status is None:
            return None
        return self.status_answer(fault.status, fault.body, fault.headers)

    def status_answer(self, status, body, headers):
        headers = dict(headers or {})
        if body is None:
            body = self.error_body(status)
        if isinstance(body, (dict, list)):
            return Response.json(status, body, headers)
        content_type = headers.pop("Content-Type", "text/plain")
        return Response.raw(status, body, content_type, headers)

    def finish(self, sandbox, request, operation, response):
        """Add the headers this API puts on every answer."""
        return response


def reason_phrase(status):
    """The standard reason phrase of an HTTP status ("Error" if unknown)."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def json_or_none(request):
    """The request body as JSON, or None: for the request log only."""
    if not request.body:
        return None
    try:
        return json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        return None
