"""Checks and credentials the client tests share (their asserts rewritten
by pytest, as a test module's: see conftest.py)."""

# One eBay application and seller consent, for both eBay clients' tests.
EBAY_CLIENT_ID = "Seller-App-PRD-1234"
EBAY_SECRETS = ("PRD-cert-secret-5678", "v^1.1#i^1#refresh-token-secret")
EBAY_OPTIONS = {
    "client_id": EBAY_CLIENT_ID,
    "client_secret": EBAY_SECRETS[0],
    "dev_id": "dev-id-0001",
    "refresh_token": EBAY_SECRETS[1],
}


def assert_no_secret(secrets, journal, *errors):
    """None of ``secrets`` in the CallRecords of ``journal`` nor in the
    texts of ``errors``."""
    texts = [repr(r) for r in journal] + [str(e) for e in errors]
    for text in texts:
        for secret in secrets:
            assert secret not in text
