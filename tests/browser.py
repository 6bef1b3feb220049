"""Helpers of the browser tests (``tests/test_browser.py``, ``tests/test_editor_browser.py``): Debian's
headless Chromium driven by Playwright, and the app served by werkzeug in a thread.

Without ``/usr/bin/chromium`` the browser tests are skipped, except in CI (``CI=true``) where a
missing browser is a failure: ``make test`` installs it (Debian package ``chromium``).
"""

from __future__ import annotations

import os
import shutil
import threading
from contextlib import contextmanager
from pathlib import Path

import pytest

__all__ = ["ARTIFACTS", "CHROMIUM_ARGS", "chromium_path", "chromium", "serving"]

#: Screenshots of the browser tests.
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def chromium_path() -> str:
    """Debian's Chromium (or ``$GRIDPLAN_CHROMIUM``); the test is skipped without it, failed in CI."""
    path = os.environ.get("GRIDPLAN_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        message = "Debian chromium is not installed (apt-get install chromium; make test installs it)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path


@contextmanager
def chromium(executable: str, args):
    """A headless Chromium (``executable``, command-line ``args``); skipped without Playwright."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright (pip) is not installed")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=list(args))
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def serving(app):
    """``app`` on a free loopback port, served by werkzeug in a thread: yields its base URL."""
    from werkzeug.serving import make_server

    srv = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{srv.server_port}"
    finally:
        srv.shutdown()
        thread.join(timeout=10)
