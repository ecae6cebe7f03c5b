#!/usr/bin/env python3
"""Drive the running demo in headless Chromium, as its users do, and take
the README's screenshots at 1440 x 900.

    $ODOO_VENV/bin/python scripts/screenshots.py --url http://localhost:8069 \\
        [--out static/description] [--shots queue,status,bulk] [--check]

It needs the demo (``scripts/demo.sh``) running and ``websocket-client``
(in the test virtualenv). Chromium is driven over the DevTools protocol;
nothing is installed. ``--check`` drives issue 19's points as the warehouse
user, the accountant and the administrator (created in the demo database
when missing) and prints what each saw; the exit code is 1 when one of
them failed.
"""

import argparse
import base64
import itertools
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

import websocket

WIDTH, HEIGHT = 1440, 900
GRID = "/odoo/action-stock_ecommerce_writeback.action_writeback_grid"
STATUS = "/odoo/action-stock_ecommerce_writeback.action_ecommerce_status_overview"


class Browser:
    """One headless Chromium page, driven over the DevTools protocol."""

    def __init__(self, url, chromium="chromium"):
        self.url = url.rstrip("/")
        self.profile = tempfile.mkdtemp(prefix="sew-shots-")
        self.process = subprocess.Popen(
            [
                shutil.which(chromium) or chromium,
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--hide-scrollbars",
                "--no-first-run",
                "--remote-debugging-port=0",
                f"--user-data-dir={self.profile}",
                f"--window-size={WIDTH},{HEIGHT}",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        port_file = pathlib.Path(self.profile, "DevToolsActivePort")
        for _ in range(100):
            if port_file.exists() and port_file.read_text().strip():
                break
            time.sleep(0.1)
        port = port_file.read_text().split()[0]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list") as answer:
            page = next(t for t in json.load(answer) if t["type"] == "page")
        self.ws = websocket.create_connection(
            page["webSocketDebuggerUrl"], timeout=60, suppress_origin=True
        )
        self.ids = itertools.count(1)
        self.send(
            "Emulation.setDeviceMetricsOverride",
            width=WIDTH,
            height=HEIGHT,
            deviceScaleFactor=1,
            mobile=False,
        )

    def close(self):
        self.ws.close()
        self.process.terminate()
        self.process.wait(10)
        shutil.rmtree(self.profile, ignore_errors=True)

    def send(self, method, **params):
        call_id = next(self.ids)
        self.ws.send(json.dumps({"id": call_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == call_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})

    def js(self, expression):
        """The value of ``expression`` (awaited when it is a promise)."""
        result = self.send(
            "Runtime.evaluate",
            expression=expression,
            awaitPromise=True,
            returnByValue=True,
        )
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression[:80]}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait(self, selector, timeout=30, gone=False):
        """Wait until ``selector`` matches (or, with ``gone``, no longer)."""
        deadline = time.monotonic() + timeout
        test = f"!!document.querySelector({json.dumps(selector)})"
        while time.monotonic() < deadline:
            if bool(self.js(test)) != gone:
                return True
            time.sleep(0.25)
        raise TimeoutError(selector)

    def goto(self, path, ready=".o_action_manager .o_view_controller"):
        self.send("Page.navigate", url=self.url + path)
        time.sleep(0.5)
        self.wait(ready)
        time.sleep(1)  # fonts, last renders

    def click(self, selector):
        self.wait(selector)
        self.js(f"document.querySelector({json.dumps(selector)}).click()")
        time.sleep(0.7)

    def text(self, selector):
        return self.js(
            f"[...document.querySelectorAll({json.dumps(selector)})]"
            ".map(e => e.innerText.trim()).join('\\n')"
        )

    def login(self, db, login, password):
        """A session for ``login`` (the cookie is the browser's)."""
        self.send("Page.navigate", url=f"{self.url}/web/login")
        self.wait("form")
        self.js(
            "fetch('/web/session/authenticate', {method: 'POST', headers: "
            "{'Content-Type': 'application/json'}, body: JSON.stringify({jsonrpc: "
            f"'2.0', params: {{db: {json.dumps(db)}, login: {json.dumps(login)}, "
            f"password: {json.dumps(password)}}}}})}}).then(r => r.json())"
            ".then(r => { if (r.error) throw new Error(r.error.data.message); })"
        )

    def shot(self, path):
        data = self.send("Page.captureScreenshot", format="png")["data"]
        pathlib.Path(path).write_bytes(base64.b64decode(data))
        print(f"    wrote {path}")


def rpc(url, db, model, method, *args, login="admin", password="admin", **kw):
    """One call through Odoo's JSON-RPC (/jsonrpc), as ``login``."""

    def call(service, method, *args):
        body = json.dumps(
            {
                "jsonrpc": "2.0",
                "method": "call",
                "params": {"service": service, "method": method, "args": args},
            }
        ).encode()
        request = urllib.request.Request(
            url + "/jsonrpc", body, {"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=60) as answer:
            result = json.load(answer)
        if "error" in result:
            raise RuntimeError(result["error"]["data"]["message"])
        return result["result"]

    uid = call("common", "login", db, login, password)
    return call("object", "execute_kw", db, uid, password, model, method, args, kw)


def shot_queue(browser, out):
    """(a) The queue: Needs attention, with its Reason column."""
    browser.goto(GRID, ready=".o_list_view .o_data_row, .o_view_nocontent")
    browser.wait(".o_list_view th[data-name='writeback_error']")
    browser.shot(out / "ecommerce_status_grid.png")


def shot_status(browser, out):
    """(b) Connection Status after *Update*, saying what changed."""
    browser.goto(STATUS, ready=".o_kanban_view .o_kanban_record")
    browser.click(".o_ecommerce_status_update")
    browser.wait(".o_ecommerce_status_update_done")
    time.sleep(0.5)
    browser.shot(out / "ecommerce_status_overview.png")


def shot_bulk(browser, out):
    """(c) A bulk action's result list: every write-back selected, then
    *Retry now*."""
    browser.goto(GRID, ready=".o_list_view .o_data_row")
    # every write-back, not only Needs attention: the result names each reason
    browser.js("document.querySelector('.o_searchview_facet .o_facet_remove')?.click()")
    time.sleep(1.5)
    browser.click("thead .o_list_record_selector input")
    if not click_text(browser, ".o_control_panel_actions button", "Retry now"):
        raise AssertionError("no Retry now on the selection")
    browser.wait(".o_writeback_bulk_notification")
    time.sleep(0.7)
    browser.shot(out / "ecommerce_status_bulk.png")


SHOTS = {"queue": shot_queue, "status": shot_status, "bulk": shot_bulk}

# -- issue 19's points, driven as each user ------------------------------------

ERRORS = ".o_error_dialog, .o_notification.border-danger, .o_notification_bar.bg-danger"


def click_text(browser, selector, text):
    """Click the first ``selector`` whose text contains ``text``."""
    found = browser.js(
        f"(() => {{ const e = [...document.querySelectorAll({json.dumps(selector)})]"
        f".find(e => e.innerText.includes({json.dumps(text)})); if (e) e.click();"
        " return !!e; })()"
    )
    time.sleep(1.2)
    # a button that asks first: confirm, as the user would
    browser.js("document.querySelector('.modal-footer .btn-primary')?.click()")
    time.sleep(0.8)
    return found


def open_writeback(browser, order_ref):
    """The grid on every write-back, then the row of ``order_ref``."""
    browser.goto(GRID, ready=".o_list_view")
    browser.js("document.querySelector('.o_searchview_facet .o_facet_remove')?.click()")
    time.sleep(1.5)
    if not click_text(browser, ".o_data_row td", order_ref):
        raise AssertionError(f"no row for {order_ref}")
    browser.wait(".o_form_view")
    time.sleep(0.8)


def failure(browser):
    return browser.text(ERRORS)


class Checks:
    def __init__(self):
        self.results = []

    def __call__(self, who, point, ok, detail=""):
        self.results.append((who, point, bool(ok), detail))
        print(f"    {'ok ' if ok else 'FAIL'} {who:10} {point}: {detail}"[:300])


def check_user(browser, check, who, cancelled, no_tracking):
    """What every user of the addon does: the queue, the reason, a delivery."""
    browser.goto(GRID, ready=".o_list_view")
    headings = browser.text(".o_list_view thead th")
    check(
        who,
        "5 reason in the queue",
        "Reason" in headings,
        headings.replace("\n", " | "),
    )
    reasons = browser.text(".o_data_row td[name='writeback_error']")
    check(who, "5 reasons readable", reasons, reasons.replace("\n", " | ")[:160])
    open_writeback(browser, no_tracking)
    form = browser.text(".o_form_view")
    check(
        who, "4 no tracking: enter it", "Enter it on the delivery" in form, no_tracking
    )
    check(
        who,
        "9 attempts 'n of m'",
        " of " in browser.text(".o_field_writeback_attempts"),
        browser.text(".o_field_writeback_attempts"),
    )
    open_writeback(browser, cancelled)
    form = browser.text(".o_form_view")
    check(who, "4/8 cancelled guidance", "cancelled" in form.lower(), form[:0])
    click_text(browser, ".o_form_view button", "Delivery")
    time.sleep(1.5)
    error = failure(browser)
    crumbs = browser.text(".o_breadcrumb")
    check(
        who,
        "1 opens the delivery",
        not error and "WH/OUT" in crumbs.split("\n")[-1],
        error or crumbs.replace("\n", " > "),
    )
    return form


def ensure_users(url, db):
    """Wendy (Inventory / User) and Alex (accountant: Manual Confirmation
    and Export), password = login, created by the administrator if missing."""

    def group(xmlid):
        module, name = xmlid.split(".")
        [row] = rpc(
            url,
            db,
            "ir.model.data",
            "search_read",
            [("module", "=", module), ("name", "=", name)],
            ["res_id"],
        )
        return row["res_id"]

    users = {
        "wendy": ("Wendy Warehouse", ["stock.group_stock_user"]),
        "alex": (
            "Alex Accountant",
            [
                "account.group_account_user",
                "stock_ecommerce_writeback.group_writeback_accountant",
            ],
        ),
    }
    for login, (name, groups) in users.items():
        if not rpc(url, db, "res.users", "search", [("login", "=", login)]):
            rpc(
                url,
                db,
                "res.users",
                "create",
                {
                    "name": name,
                    "login": login,
                    "password": login,
                    "group_ids": [(6, 0, [group(g) for g in groups])],
                },
            )


def run_checks(browser, db, orders):
    """``orders``: {situation: order ref} in the demo."""
    ensure_users(browser.url, db)
    check = Checks()
    browser.login(db, "wendy", "wendy")
    form = check_user(
        browser, check, "warehouse", orders["cancelled"], orders["no_tracking"]
    )
    check(
        "warehouse",
        "4 hint fits the reader",
        "tell whoever confirms orders by hand" in form,
        "",
    )
    browser.login(db, "alex", "alex")
    form = check_user(
        browser, check, "accountant", orders["cancelled"], orders["no_tracking"]
    )
    check("accountant", "4 hint fits the reader", "Mark as handled" in form, "")
    browser.login(db, "admin", "admin")
    check_user(browser, check, "admin", orders["cancelled"], orders["no_tracking"])
    # issue 18: Keep the marketplace's (shipped elsewhere)
    open_writeback(browser, orders["elsewhere"])
    check(
        "admin",
        "18 keep the marketplace's offered",
        click_text(browser, ".o_form_view button", "Keep the marketplace"),
        "",
    )
    badge = browser.text(
        ".o_form_view .o_field_widget[name=writeback_state], .o_form_view .ribbon"
    )
    check(
        "admin",
        "18 kept: closed",
        "Manual" in badge or "manually" in badge.lower() or "Confirmed" in badge,
        badge,
    )
    # issue 18 / point 8: Mark as handled, a state of its own
    open_writeback(browser, orders["cancelled"])
    click_text(browser, ".o_form_view button", "Mark as handled")
    form = browser.text(".o_form_view")
    check(
        "admin",
        "8 handled: Cancelled on marketplace",
        "Cancelled" in form and "Manually confirmed" not in form,
        browser.text(".o_form_view .ribbon"),
    )
    box = browser.text(".o_form_view .o_form_sheet")
    check("admin", "8 old error gone", "intercept the parcel" not in box, "")
    # the reconciliation view opens
    browser.goto(
        "/odoo/action-stock_ecommerce_writeback.action_reconciliation_issue",
        ready=".o_view_controller",
    )
    check(
        "admin",
        "18 reconciliation view",
        not failure(browser),
        browser.text(".o_breadcrumb"),
    )
    # point 6: Connection Status, Update says what changed
    browser.goto(STATUS, ready=".o_kanban_view .o_kanban_record")
    browser.click(".o_ecommerce_status_update")
    browser.wait(".o_ecommerce_status_update_done")
    check(
        "admin",
        "6 update says what changed",
        True,
        browser.text(".o_ecommerce_status_update_done").replace("\n", " | "),
    )
    # point 7: bulk result list
    browser.goto(GRID, ready=".o_list_view .o_data_row")
    browser.js("document.querySelector('.o_searchview_facet .o_facet_remove')?.click()")
    time.sleep(1.5)
    browser.click("thead .o_list_record_selector input")
    click_text(browser, ".o_control_panel_actions button", "Retry now")
    browser.wait(".o_writeback_bulk_notification")
    items = browser.text(".o_writeback_bulk_notification li")
    check(
        "admin",
        "7 bulk result: a list per reason",
        items.count("\n") >= 1,
        items.replace("\n", " | "),
    )
    return all(ok for _w, _p, ok, _d in check.results)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://localhost:8069")
    parser.add_argument("--db", default="stock_ecommerce_writeback_demo")
    parser.add_argument("--login", default="admin")
    parser.add_argument("--password", default="admin")
    parser.add_argument(
        "--out",
        default=str(pathlib.Path(__file__).parent.parent / "static/description"),
    )
    parser.add_argument("--shots", default=",".join(SHOTS))
    parser.add_argument(
        "--check",
        metavar="JSON",
        help='drive issue 19 as each user instead: {"cancelled": order, '
        '"no_tracking": order, "elsewhere": order}',
    )
    args = parser.parse_args()
    out = pathlib.Path(args.out)
    browser = Browser(args.url, os.environ.get("CHROMIUM", "chromium"))
    try:
        if args.check:
            return 0 if run_checks(browser, args.db, json.loads(args.check)) else 1
        browser.login(args.db, args.login, args.password)
        for name in args.shots.split(","):
            SHOTS[name](browser, out)
    finally:
        browser.close()


if __name__ == "__main__":
    sys.exit(main())
