"""What the eBay clients share: hosts, keyset and the OAuth user token.

Trading (XML) and Sell Fulfillment (REST) are authorized by the same OAuth
user token, minted from the seller's refresh token (eBay "Using a refresh
token to update a User access token"). Both clients use the process-wide
token cache, so an account's two clients share one access token as long as
they ask for the same scopes.
"""

from .http import DEFAULT_TIMEOUT, HttpClient

HOSTS = {
    "production": "https://api.ebay.com",
    "sandbox": "https://api.sandbox.ebay.com",
}
TOKEN_PATH = "/identity/v1/oauth2/token"
# The refresh grant may only ask for scopes of the original consent; these
# cover CompleteSale/GetOrders (base scope) and the Fulfillment API
# (sell_fulfillment_v1_oas3.json securitySchemes).
DEFAULT_SCOPES = (
    "https://api.ebay.com/oauth/api_scope",
    "https://api.ebay.com/oauth/api_scope/sell.fulfillment",
)


class EbayClient(HttpClient):
    """An eBay seller account: keyset, site, environment and OAuth token."""

    marketplace = "eBay"

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
        scopes=DEFAULT_SCOPES,
    ):
        if environment not in HOSTS:
            raise ValueError(f"Unknown eBay environment {environment!r}")
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
        )
        self.dev_id = dev_id
        # X-EBAY-API-SITEID must be numeric: "US" gives error 10012 (KB 852).
        self.site_id = str(int(site_id))
        self.compatibility_level = str(compatibility_level)
        self.scopes = tuple(scopes)

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
