"""The language of the current request: what :mod:`app._data` and :mod:`app.auth` both need.

It lives apart so that neither has to import the other for it (``app._data`` reads plans as the
visitor may see them through ``app.auth``).
"""

from __future__ import annotations

from flask import current_app, request

from maps.i18n import LANGUAGES

__all__ = ["lang"]


def lang() -> str:
    """The page language: ``?lang=``, else the visitor's cookie, else ``DEFAULT_LANGUAGE``."""
    for choice in (request.args.get("lang"), request.cookies.get("lang")):
        if choice in LANGUAGES:
            return choice
    return current_app.config["DEFAULT_LANGUAGE"]
