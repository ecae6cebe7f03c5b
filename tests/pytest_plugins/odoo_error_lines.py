# Copyright 2026 stock_ecommerce_writeback contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Odoo tier under pytest-odoo: a test fails when an ERROR or CRITICAL line
is logged while it runs (its set-up and tear-down included), as under
Odoo's own test runner.

Odoo's cron runner catches every exception a cron raises and only logs it,
so without this a test asserting "nothing happened" after a push would pass
when the push crashed. A test that expects an error line declares it, with
``self.assertLogs(logger, "ERROR")`` (which also checks the line is there)
or ``odoo.tools.mute_logger(logger)``: either keeps the line from reaching
the root logger, so it does not count here.

A pytest plugin, loaded by ``scripts/test.sh`` with ``-p odoo_error_lines``
(this folder on ``PYTHONPATH``): a ``conftest.py`` in ``tests/`` would be
imported as ``stock_ecommerce_writeback.tests.conftest``, outside
``odoo.addons``, which Odoo refuses. It imports nothing of the addon.
"""

import logging

import pytest


class _ErrorLines(logging.Handler):
    """Collects the ERROR and CRITICAL records that reach the root logger,
    from any thread (HTTP workers of a tour, the sandbox, crons)."""

    def __init__(self):
        super().__init__(logging.ERROR)
        self.lines = []

    def emit(self, record):
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 (a bad format string is still an error line)
            message = str(record.msg)
        self.lines.append(f"{record.levelname} {record.name}: {message}")


@pytest.fixture(scope="session", autouse=True)
def _odoo_logs_errors():
    """pytest-odoo's default ``--odoo-log-level=critical`` drops ERROR
    records before any handler sees them: make the ``odoo`` loggers emit
    them, whatever the command line said."""
    for name in ("odoo", "werkzeug"):
        logger = logging.getLogger(name)
        if logger.getEffectiveLevel() > logging.ERROR:
            logger.setLevel(logging.ERROR)


def _phase(item, when):
    handler = _ErrorLines()
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield
    finally:
        root.removeHandler(handler)
    if handler.lines:
        raise AssertionError(
            f"{len(handler.lines)} ERROR/CRITICAL line(s) logged during the "
            f"{when} of {item.nodeid} (declare an expected one with "
            "assertLogs or mute_logger):\n  " + "\n  ".join(handler.lines)
        )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item):
    yield from _phase(item, "set-up")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    yield from _phase(item, "run")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item):
    yield from _phase(item, "tear-down")
