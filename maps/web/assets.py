"""The browser assets of the web maps: pinned npm files, from the CDN, vendored or inlined.

Every JavaScript and CSS file a map loads comes from :data:`WEB_ASSETS`: pinned npm packages,
served from the app's vendored copies (``asset_base``, offline: the default of ``gridplan
serve``), inlined into the page (``inline_from``: the self-contained file of ``gridplan map``), or
fetched from the npm CDN (``--online``). :func:`use_assets` points a folium map's links at them;
:func:`script_guard` adds the small script, run before any other, that shows a notice in the
map's language when a script or style sheet did not load, so that a page never stays blank.
"""

from __future__ import annotations

import base64
import json
import mimetypes
import re
from pathlib import Path

from folium import Element

from maps.i18n import text

__all__ = ["WEB_ASSETS", "VENDOR_EXTRA", "asset_url", "use_assets", "script_guard", "js_str"]

WEB_ASSETS = {
    "leaflet.js": ("leaflet", "1.9.4", "dist/leaflet.js"),
    "leaflet.css": ("leaflet", "1.9.4", "dist/leaflet.css"),
    "fullscreen.js": ("leaflet.fullscreen", "3.0.0", "Control.FullScreen.js"),
    "fullscreen.css": ("leaflet.fullscreen", "3.0.0", "Control.FullScreen.css"),
    "measure.js": ("leaflet-measure", "3.1.0", "dist/leaflet-measure.js"),
    "measure.zh.js": ("leaflet-measure", "3.1.0", "dist/leaflet-measure.cn.js"),
    "measure.css": ("leaflet-measure", "3.1.0", "dist/leaflet-measure.css"),
    "locate.js": ("leaflet.locatecontrol", "0.66.2", "dist/L.Control.Locate.min.js"),
    "locate.css": ("leaflet.locatecontrol", "0.66.2", "dist/L.Control.Locate.min.css"),
    "fontawesome.css": ("@fortawesome/fontawesome-free", "6.2.0", "css/all.min.css"),
}
#: Files the packages' CSS refers to (icons, fonts), vendored beside the assets.
VENDOR_EXTRA = {
    "leaflet": ("dist/images",),
    "leaflet.fullscreen": ("icon-fullscreen.svg",),
    "leaflet-measure": ("dist/assets",),
    "@fortawesome/fontawesome-free": ("webfonts", "LICENSE.txt"),
}
# folium's own link names → our asset (None: not needed by these maps, left out; a language's own
# build, "name.zh.js", is taken for Chinese maps when there is one)
_FOLIUM_LINKS = {
    "leaflet": "leaflet.js", "leaflet_css": "leaflet.css",
    "jquery": None, "bootstrap": None, "awesome_markers": None, "bootstrap_css": None,
    "glyphicons_css": None, "awesome_markers_css": None, "awesome_rotate_css": None,
    "awesome_markers_font_css": "fontawesome.css",
    "Control.Fullscreen.js": "fullscreen.js", "Control.FullScreen.css": "fullscreen.css",
    "leaflet_measure_js": "measure.js", "leaflet_measure_css": "measure.css",
    "Control_locate_min_js": "locate.js", "Control_locate_min_css": "locate.css",
}
_CDN = "https://cdn.jsdelivr.net/npm"


def asset_url(name: str, *, base: str | None = None) -> str:
    """URL of a :data:`WEB_ASSETS` file: on the npm CDN, or under ``base`` (vendored copies)."""
    package, version, path = WEB_ASSETS[name]
    return f"{base or _CDN}/{package}@{version}/{path}"


def use_assets(fmap, asset_base: str | None, *, lang: str = "zh", inline_from: Path | None = None,
                leave_out: tuple = ()) -> None:
    """Point every asset link of the map's elements at :data:`WEB_ASSETS` (CDN or vendored).

    With ``inline_from`` (the folder of vendored copies) the files are written into the page
    instead, in :data:`WEB_ASSETS` order, with the images and fonts their CSS refers to as
    ``data:`` URLs: the page then loads nothing at all. Assets named in ``leave_out`` are dropped.
    """
    seen, stack, used = set(), [fmap.get_root()], set()
    while stack:
        el = stack.pop()
        if id(el) in seen:
            continue
        seen.add(id(el))
        stack.extend(getattr(el, "_children", {}).values())
        for attr in ("default_js", "default_css"):
            links = getattr(el, attr, None)
            if not links:
                continue
            mapped = []
            for name, url in links:
                if name not in _FOLIUM_LINKS:
                    raise ValueError(f"folium element {type(el).__name__} loads {url}, which is not in "
                                     "maps.web.assets.WEB_ASSETS: add it there so offline pages can serve it")
                asset = _FOLIUM_LINKS[name]
                if asset and asset not in leave_out:
                    localised = asset.replace(".js", f".{lang}.js")
                    asset = localised if localised in WEB_ASSETS else asset
                    used.add(asset)
                    mapped.append((name, asset_url(asset, base=asset_base)))
            # an instance attribute: folium's class lists stay as they are
            setattr(el, attr, [] if inline_from is not None else mapped)
    if inline_from is not None:

        parts = [_inline_asset(name, Path(inline_from)) for name in WEB_ASSETS if name in used]
        fmap.get_root().header.add_child(Element("\n".join(parts)), name="gp_inline_assets")


def _inline_asset(name: str, vendor: Path) -> str:
    """A ``<script>`` or ``<style>`` holding the vendored copy of asset ``name``."""
    package, version, path = WEB_ASSETS[name]
    file = vendor / f"{package}@{version}" / path
    if not file.is_file():
        raise FileNotFoundError(f"vendored asset missing: {file} (run `python -m app.vendor`)")
    body = file.read_text(encoding="utf-8")
    if name.endswith(".js"):
        return "<script>" + re.sub(r"</(script)", r"<\\/\1", body, flags=re.IGNORECASE) + "</script>"

    def data_url(match: re.Match) -> str:
        ref = match.group(2)
        if ref.startswith(("data:", "#")) or "//" in ref:
            return match.group(0)
        target = (file.parent / ref.split("?")[0].split("#")[0]).resolve()
        if not target.is_file():
            return match.group(0)
        kind = mimetypes.guess_type(target.name)[0] or {".woff2": "font/woff2", ".woff": "font/woff",
                                                         ".ttf": "font/ttf"}.get(target.suffix, "application/octet-stream")
        return f'url("data:{kind};base64,{base64.b64encode(target.read_bytes()).decode("ascii")}")'

    body = re.sub(r"""url\((['"]?)([^'")]+)\1\)""", data_url, body)
    return "<style>" + re.sub(r"</(style)", r"<\\/\1", body, flags=re.IGNORECASE) + "</style>"


_GUARD_JS = """(function () {
  var failed = [];
  window.addEventListener('error', function (e) {
    var t = e.target;
    if (t && (t.tagName === 'SCRIPT' || t.tagName === 'LINK')) { failed.push(t.src || t.href); }
  }, true);
  window.addEventListener('load', function () {
    if (window.L && !failed.length) { return; }
    var words = %s, box = document.createElement('div'), title = document.createElement('strong');
    box.className = 'gp-scripts-failed';
    box.setAttribute('role', 'alert');
    box.style.cssText = 'position:fixed;top:0;left:0;right:0;z-index:100000;padding:12px 16px;' +
      'background:#fff3cd;color:#5c3d00;border-bottom:2px solid #c08a00;font:15px/1.5 sans-serif';
    title.textContent = words.title;
    box.appendChild(title);
    box.appendChild(document.createTextNode(' ' + words.hint));
    if (failed.length) {
      var list = document.createElement('div');
      list.style.cssText = 'font-size:12px;opacity:.8;word-break:break-all';
      list.textContent = words.files + failed.join(', ');
      box.appendChild(list);
    }
    document.body.insertBefore(box, document.body.firstChild);
  });
})();"""


def js_str(value) -> str:
    """``value`` as a JavaScript literal safe inside a ``<script>`` element."""
    return json.dumps(value, ensure_ascii=False).replace("</", "<\\/")


def script_guard(fmap, *, lang: str, hint: str) -> None:
    """A script, run before any other of the page and needing none, that shows a notice when a
    script or style sheet did not load or Leaflet is missing (``hint``: ``server`` or ``file``)."""

    words = {"title": text("scripts_failed", lang), "hint": text(f"scripts_failed_{hint}", lang),
             "files": text("scripts_failed_files", lang)}
    fmap.get_root().header.add_child(Element(f"<script>{_GUARD_JS % js_str(words)}</script>"),
                                     name="gp_script_guard")


