"""Helpers of the browser tests: Debian's headless Chromium driven by Playwright, and the app served
by werkzeug in a thread (``tests/test_editor_browser.py``; ``tests/test_browser.py`` has its own
copies of the same steps)."""

from __future__ import annotations

import threading
from contextlib import contextmanager

import pytest

__all__ = ["chromium", "serving"]


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
