"""Where credentials may go: the URL checks every client applies before a
request, reading a URL exactly as ``requests`` (urllib3) will send it.
Plain Python, no Odoo import."""

import ipaddress
import re
import urllib.parse

import requests
from urllib3.util import parse_url


def is_loopback_host(host):
    """True for ``localhost`` and any loopback address (127.0.0.0/8, ::1)."""
    host = (host or "").rstrip(".").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_endpoint_url(url, allow_http_loopback=True):
    """Return ``url`` unchanged if credentials may be sent to it.

    Allowed: ``https`` to any host, or plain ``http`` to a loopback host (the
    local sandbox) when ``allow_http_loopback`` is true. Refused with
    :class:`ValueError`: userinfo (``user@``, ``user:pass@``), a backslash,
    any control, format or whitespace character, any non-ASCII character, a
    missing host, any other scheme, and any URL whose host is read
    differently by :mod:`urllib.parse` and by :mod:`requests`/urllib3 (the
    host this check sees must be the host the request goes to). The message
    names only the scheme and host, never the rest of the URL.
    """
    if not isinstance(url, str) or not url:
        raise ValueError("Endpoint URL is empty; expected https://<host>/…")
    where = describe_endpoint(url)
    for char in url:
        if char == "\\" or char.isspace() or not char.isprintable():
            raise ValueError(
                f"Endpoint {where} refused: the URL contains a backslash, a "
                "space or a control character."
            )
        if not char.isascii():
            raise ValueError(
                f"Endpoint {where} refused: the URL contains a non-ASCII "
                "character (write an international host name in its xn-- form)."
            )
    try:
        parts = urllib.parse.urlsplit(url)
        host, port = parts.hostname, parts.port
    except ValueError:  # an unbalanced IPv6 bracket, a port that is no number
        raise ValueError(f"Endpoint {where} refused: the URL cannot be read.") from None
    if not host:
        raise ValueError("Endpoint URL has no host; expected https://<host>/…")
    try:
        target = _request_target(url)
    except ValueError:
        raise ValueError(f"Endpoint {where} refused: the URL cannot be read.") from None
    if parts.username is not None or parts.password is not None or target[2]:
        raise ValueError(
            f"Endpoint {where} refused: user names and passwords do not belong "
            "in the URL."
        )
    scheme = parts.scheme.lower()
    if target[:2] != (host, _effective_port(scheme, port)):
        # e.g. http://192.0.2.2:9\@127.0.0.1/: urllib.parse reads host
        # 127.0.0.1, requests connects to 192.0.2.2 (already refused above
        # for its backslash; this catches any other parser disagreement).
        raise ValueError(
            f"Endpoint {where} refused: the URL names its host ambiguously."
        )
    if scheme == "https":
        return url
    if scheme == "http" and is_loopback_host(host):
        if allow_http_loopback:
            return url
        raise ValueError(
            f"Endpoint {where} refused: this account must use https (plain "
            "http to localhost is only allowed for sandbox accounts)."
        )
    raise ValueError(
        f"Endpoint {where} refused: use https "
        "(plain http is only allowed to localhost/127.0.0.1/::1)."
    )


def _request_target(url):
    """``(host, port, has_userinfo)`` of the connection :mod:`requests`
    opens for ``url``: it prepares the URL with urllib3's ``parse_url`` and
    its adapter picks the pool from ``urlparse`` of the prepared URL
    (``requests.adapters``). Raise :class:`ValueError` if it cannot."""
    parsed = parse_url(url)  # its LocationParseError is a ValueError
    prepared = requests.models.PreparedRequest()
    try:
        prepared.prepare_url(url, None)
    except requests.exceptions.RequestException:
        raise ValueError("unreadable URL") from None
    pool = urllib.parse.urlsplit(prepared.url)
    host = pool.hostname
    if (parsed.host or "").strip("[]").lower() != (host or ""):
        raise ValueError("urllib3 and requests disagree on the host")
    scheme = pool.scheme.lower()
    return (
        host,
        _effective_port(scheme, pool.port),
        parsed.auth is not None or pool.username is not None,
    )


def _effective_port(scheme, port):
    return port if port is not None else {"http": 80, "https": 443}.get(scheme)


def describe_endpoint(url):
    """``scheme://host`` of ``url`` for a message: nothing else of the URL
    (path, query, userinfo) and nothing that is not plainly a host name."""
    try:
        parts = urllib.parse.urlsplit(url)
        host = parts.hostname or ""
    except ValueError:
        return "URL"
    scheme = parts.scheme.lower()
    if not re.fullmatch(r"[a-z][a-z0-9+.-]{0,15}", scheme):
        return "URL"
    if not re.fullmatch(r"[a-z0-9.:_-]{1,253}", host):
        return f"{scheme}://…"
    return f"{scheme}://[{host}]" if ":" in host else f"{scheme}://{host}"
