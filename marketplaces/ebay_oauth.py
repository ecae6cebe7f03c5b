"""What the eBay clients share: hosts, keyset and the OAuth user token.

Trading (XML) and Sell Fulfillment (REST) are authorized by an OAuth user
token minted from the seller's refresh token (eBay "Using a refresh token to
update a User access token"). Each client asks only for the scopes of the API
it writes back with (:attr:`EbayClient.scopes`): a refresh "contains the same
authorization properties as the original" grant, so it may only ask for
scopes the seller consented to, and asking for more is refused with
``invalid_scope`` (shared/notes/ebay-api.md §2.4). A seller who consented to
the Trading scope only must keep working with the Trading client.
"""

from .http import DEFAULT_TIMEOUT, HttpClient

HOSTS = {
    "production": "https://api.ebay.com",
    "sandbox": "https://api.sandbox.ebay.com",
}
TOKEN_PATH = "/identity/v1/oauth2/token"
# The base scope, for the Trading API (CompleteSale, GetOrders). eBay does
# not say which scope Trading needs (ebay-api.md §1.1, open point); the base
# scope is the one every consent includes.
API_SCOPE = "https://api.ebay.com/oauth/api_scope"
# createShippingFulfillment needs sell.fulfillment, which also covers the
# reads (getOrder, getShippingFulfillments, getOrders): securitySchemes of
# sell_fulfillment_v1_oas3.json, ebay-api.md §2.1.
SELL_FULFILLMENT_SCOPE = "https://api.ebay.com/oauth/api_scope/sell.fulfillment"
# The scopes of the base class (kept for callers of this name).
DEFAULT_SCOPES = (API_SCOPE,)


class EbayClient(HttpClient):
    """An eBay seller account: keyset, site, environment and OAuth token."""

    marketplace = "eBay"
    #: OAuth scopes asked for on refresh; each client names its API's own.
    scopes = DEFAULT_SCOPES

    def __init__(
        self,
        *,
        client_id,
        client_secret,
        refresh_token,
        dev_id="",
        site_id=0,
        environment="production",
        api_base_url=None,
        auth_url=None,
        timeout=DEFAULT_TIMEOUT,
        on_call=None,
        session=None,
        compatibility_level="1451",
        scopes=None,
        allow_http_loopback=True,
    ):
        """``scopes`` overrides the class's :attr:`scopes` (None = keep)."""
        if environment not in HOSTS:
            raise ValueError(f"Unknown eBay environment {environment!r}")
        # Before HttpClient.__init__: the token cache key is computed there
        # and is to depend on the scopes (a token for other scopes is another
        # token).
        if scopes is None:
            scopes = type(self).scopes
        elif isinstance(scopes, str):  # one space-separated string, as on the wire
            scopes = scopes.split()
        self.scopes = tuple(scopes)
        host = HOSTS[environment]
        super().__init__(
            client_id=client_id,
            client_secret=client_secret,
            refresh_token=refresh_token,
            api_base_url=api_base_url or host,
            token_url=auth_url or (api_base_url or host).rstrip("/") + TOKEN_PATH,
            timeout=timeout,
            on_call=on_call,
            session=session,
            allow_http_loopback=allow_http_loopback,
        )
        self.dev_id = dev_id
        # X-EBAY-API-SITEID must be numeric: "US" gives error 10012 (KB 852).
        self.site_id = str(int(site_id))
        self.compatibility_level = str(compatibility_level)

    def _token_request(self):
        # Client credentials in a Basic header, scopes space-separated
        # (eBay OAuth docs; eBay's own ebay-oauth-python-client).
        return {
            "data": {
                "grant_type": "refresh_token",
                "refresh_token": self._refresh_token,
                "scope": " ".join(self.scopes),
            },
            "auth": (self.client_id, self._client_secret),
            "headers": {"Accept": "application/json"},
        }
