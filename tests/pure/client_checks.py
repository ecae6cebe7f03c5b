"""Checks the client tests share (their asserts rewritten by pytest, as a
test module's: see conftest.py)."""


def assert_no_secret(secrets, journal, *errors):
    """None of ``secrets`` in the CallRecords of ``journal`` nor in the
    texts of ``errors``."""
    texts = [repr(r) for r in journal] + [str(e) for e in errors]
    for text in texts:
        for secret in secrets:
            assert secret not in text
