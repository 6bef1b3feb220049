"""What a visitor reads on a page (text outside scripts and styles), and the internal keys and ids
that must never be part of it."""

from __future__ import annotations

import re
from html.parser import HTMLParser

__all__ = ["visible_text", "leaks", "LEAK_PATTERNS"]

#: Untranslated keys (``flag_ill``, ``editor_first_version``, any ``snake_case`` word) and internal
#: ids of grids and buildings (``G0337``, ``B02508``, ``E0012``).
LEAK_PATTERNS = {
    "flag key": re.compile(r"\bflag_\w+"),
    "snake_case key": re.compile(r"\b[a-z]+(?:_[a-z0-9]+)+\b"),
    "grid id": re.compile(r"\b[GE]\d{4,}\b"),
    "building id": re.compile(r"\bB\d{5,}\b"),
}


class _Text(HTMLParser):
    _HIDDEN = {"script", "style", "template", "noscript"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts, self._skip = [], 0

    def handle_starttag(self, tag, attrs):
        if tag in self._HIDDEN:
            self._skip += 1
        for name, value in attrs:  # words a visitor reads without opening anything
            if name in ("title", "placeholder", "alt", "aria-label") and value and not self._skip:
                self.parts.append(value)

    def handle_endtag(self, tag):
        if tag in self._HIDDEN and self._skip:
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip and data.strip():
            self.parts.append(data.strip())


def visible_text(html: str) -> str:
    """The page's text nodes and its title/placeholder/alt attributes, outside scripts and styles."""
    parser = _Text()
    parser.feed(html)
    return "\n".join(parser.parts)


def leaks(text: str) -> dict:
    """Each pattern of :data:`LEAK_PATTERNS` found in ``text``: name → the matches."""
    found = {name: sorted(set(p.findall(text))) for name, p in LEAK_PATTERNS.items()}
    return {k: v for k, v in found.items() if v}
