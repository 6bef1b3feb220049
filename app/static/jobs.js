/* The 新建方案 and 更新户数 pages: poll a background job's status into the progress bar (the page
 * reloads when the job ends), and draw an update's diff on the map (grids by change, moved
 * buildings). Config: the JSON of #gp-job-config (status URL, running, words, map, diff). */
(function () {
  "use strict";
  var cfg = JSON.parse(document.getElementById("gp-job-config").textContent);
  var words = cfg.words || {};
  function say(key) { return words[key] || key; }

  function poll() {
    fetch(cfg.status, {credentials: "same-origin", headers: {Accept: "application/json"}})
      .then(function (r) { return r.json(); })
      .then(function (s) {
        var bar = document.getElementById("np-progress");
        if (bar) { bar.value = s.fraction || 0; }
        var pct = document.getElementById("np-percent");
        if (pct) { pct.textContent = Math.round(100 * (s.fraction || 0)) + "%"; }
        var stage = document.getElementById("np-stage");
        if (stage && s.stage) { stage.textContent = say("stage_" + s.stage); }
        if (s.state === "done" || s.state === "failed") { window.location.reload(); return; }
        window.setTimeout(poll, 500);
      })
      .catch(function () { window.setTimeout(poll, 2000); });
  }
  if (cfg.running && cfg.status) { window.setTimeout(poll, 300); }

  var STYLE = {
    unchanged: {color: "#777", weight: 1, fillColor: "#d9d9d9", fillOpacity: 0.25},
    changed: {color: "#b35806", weight: 2, fillColor: "#fdb462", fillOpacity: 0.55},
    households: {color: "#999", weight: 1, fillColor: "#ffffb3", fillOpacity: 0.5},
    added: {color: "#4d9221", weight: 2, fillColor: "#b3de69", fillOpacity: 0.6},
    removed: {color: "#c0392b", weight: 2, dashArray: "6 4", fill: false}
  };
  function drawDiff(map) {
    fetch(cfg.diff, {credentials: "same-origin"}).then(function (r) { return r.json(); }).then(function (data) {
      var layer = L.geoJSON(data, {
        style: function (f) {
          var p = f.properties;
          if (p.kind === "moved") { return {color: "#e31a1c", weight: 2, fillColor: "#e31a1c", fillOpacity: 0.8}; }
          return STYLE[p.change] || STYLE.unchanged;
        },
        onEachFeature: function (f, l) {
          var p = f.properties;
          var text = p.kind === "moved"
            ? say("recount_moved") + ": " + p.from_grid + " → " + p.to_grid + " (" + say("households") + " " + p.households + ")"
            : say("grid") + " " + p.grid_code + ": " + say("change_" + p.change) + ", " + say("households") + " "
              + (p.households_before == null ? "–" : p.households_before) + " → " + p.households;
          l.bindTooltip(text, {sticky: true});
        }
      }).addTo(map);
      document.body.setAttribute("data-diff-features", String(data.features.length));
      var bounds = layer.getBounds();
      if (bounds.isValid()) { map.fitBounds(bounds); }
    });
  }
  if (cfg.map && cfg.diff) {
    var tries = 0;
    (function wait() {
      var map = window[cfg.map];
      if (map && window.L) { drawDiff(map); } else if (tries++ < 100) { window.setTimeout(wait, 50); }
    })();
  }
})();
