"""Outcome classes shared by every marketplace client.

The ORM layer maps each class onto the write-back state machine
(see :mod:`.policy`); clients never decide what happens to a picking.
"""


class MarketplaceError(Exception):
    """Base class. ``message`` is safe to show to users: it never contains
    credentials, tokens or request bodies."""

    outcome = "error"

    def __init__(self, message, *, code=None, http_status=None, retry_after=None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.http_status = http_status
        self.retry_after = retry_after

    def __str__(self):
        if self.code:
            return f"{self.message} ({self.code})"
        return self.message


class TransientError(MarketplaceError):
    """Timeout, connection error, HTTP 5xx, malformed answer, eBay SystemError:
    worth another attempt later; the attempt counts."""

    outcome = "transient"


class RateLimitedError(MarketplaceError):
    """HTTP 429 / QuotaExceeded / eBay call-limit: try again after
    ``retry_after`` seconds (None = unknown); the attempt does not count."""

    outcome = "rate_limited"


# RateLimitedError.code of a call the client held back itself (its pacer,
# respecting the marketplace's documented rate): nothing was sent, nothing
# failed.
CLIENT_PACING = "client_pacing"


def is_held_back(error):
    """True when ``error`` is the client holding a call back for the rate
    limit (:data:`CLIENT_PACING`): never a failure, never counted."""
    return isinstance(error, RateLimitedError) and error.code == CLIENT_PACING


class AuthError(MarketplaceError):
    """Credentials rejected even after one token refresh (invalid_grant,
    401/403 Unauthorized, eBay 931/932/21916984/21917053): the account needs
    attention; the attempt does not count."""

    outcome = "auth"


class PermanentError(MarketplaceError):
    """The marketplace refused the data (400 InvalidInput, unknown or
    cancelled order, invalid carrier or tracking): retrying the same request
    cannot succeed."""

    outcome = "permanent"
