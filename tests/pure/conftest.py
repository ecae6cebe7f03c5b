"""Pure tier fixtures: the repo root on ``sys.path`` (so ``import sandbox`` and
``import marketplaces`` work without Odoo) and a live marketplace sandbox."""

import pathlib
import sys

import pytest

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

# The checks the test modules share fail with pytest's detailed messages too.
pytest.register_assert_rewrite("client_checks")


@pytest.fixture(scope="session")
def sandbox_server():
    """One sandbox HTTP server on 127.0.0.1 (random port) for the session."""
    from sandbox.server import SandboxServer  # after the sys.path line above

    server = SandboxServer(host="127.0.0.1", port=0).start()
    yield server
    server.stop()


@pytest.fixture
def sandbox(sandbox_server):
    """The shared :class:`~sandbox.server.SandboxServer`, empty for this test:
    no orders, catalog, tokens, faults, logged requests or rate-limit history,
    and a running clock."""
    sandbox_server.reset()
    yield sandbox_server
    sandbox_server.wait_idle(timeout=10)  # e.g. a request still in a delay fault
    sandbox_server.reset()


@pytest.fixture
def ebay_order(sandbox):
    """eBay order 12-34567-89012: one line, 110012345678-0, of 3 items of
    item 110012345678, created before the ship dates the tests send."""
    sandbox.add_ebay_order(
        "12-34567-89012",
        line_items=[
            {"line_item_id": "110012345678-0", "quantity": 3, "item_id": "110012345678"}
        ],
        created_time="2026-01-01T00:00:00Z",
    )


@pytest.fixture(autouse=True)
def _fresh_client_state():
    """The token cache, the pacer and the search cursors are process-wide;
    the sandbox forgets its tokens, buckets and orders between tests, so
    must they."""
    from marketplaces import amazon, pacer, tokens

    tokens.TOKEN_CACHE.clear()
    pacer.PACER.reset()
    amazon.SEARCH_CURSORS.clear()
    yield
    tokens.TOKEN_CACHE.clear()
    pacer.PACER.reset()
    amazon.SEARCH_CURSORS.clear()


@pytest.fixture
def journal():
    """The CallRecords a client reports (its ``on_call``)."""
    return []


@pytest.fixture
def sandbox_client(sandbox, journal):
    """``make(cls, options, **overrides)``: a ``cls`` client of the sandbox
    with ``options`` (its credentials), reporting to ``journal``, with a
    (2, 5) s timeout; ``overrides`` last. The test modules' ``make_client``."""

    def make(cls, options, **overrides):
        return cls(
            **{
                "api_base_url": sandbox.url,
                "timeout": (2, 5),
                "on_call": journal.append,
                **options,
                **overrides,
            }
        )

    return make


@pytest.fixture
def client(make_client):
    """A client made by the test module's own ``make_client`` fixture."""
    with make_client() as client:
        yield client


# -- no silent skips ---------------------------------------------------------
# A skipped or xfailed test is a promise nobody checked: the pure tier fails
# on any, as scripts/test.sh does for the Odoo tier.
_NOT_RUN = []


def _note_not_run(report):
    if report.skipped:  # skip, importorskip, skipif, xfail (outcome "skipped")
        kind = "xfailed" if hasattr(report, "wasxfail") else "skipped"
        _NOT_RUN.append(f"{kind}: {report.nodeid}")
    elif getattr(report, "wasxfail", None) is not None:  # xpassed
        _NOT_RUN.append(f"xpassed: {report.nodeid}")


def pytest_runtest_logreport(report):
    _note_not_run(report)


def pytest_collectreport(report):
    _note_not_run(report)


def pytest_terminal_summary(terminalreporter):
    if _NOT_RUN:
        terminalreporter.write_line(
            "FAILED: the pure tier allows no skip or xfail:\n  "
            + "\n  ".join(_NOT_RUN),
            red=True,
        )


def pytest_sessionfinish(session, exitstatus):
    if _NOT_RUN and exitstatus == 0:
        session.exitstatus = 1
