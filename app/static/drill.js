/* gridplan: a drill-down page (app/templates/drill.html) over the units API (docs/web.md).
 * ES module, no build step, Leaflet 1.9 (the page's folium map). Fetches the unit's document
 * (its children as GeoJSON with their figures), draws the children coloured by balance, fills the
 * table (sortable by each figure); a click on a child, on the map or in the table, opens it: the
 * unit's own drill page, or a grid's battle map. A community's buildings are drawn under its grids. */

const cfg = JSON.parse(document.getElementById('gp-drill-config').textContent);
const map = window[cfg.map];
const w = (key) => cfg.words[key] || key;
const $ = (id) => document.getElementById(id);
const fmt = new Intl.NumberFormat(cfg.lang === 'zh' ? 'zh-CN' : 'en');

function esc(s) {
  return String(s ?? '').replace(/[&<>"']/g, (c) => ({'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;'}[c]));
}
const pct = (v) => (v === null || v === undefined ? '–' : `${Math.round(100 * v)}%`);
const specialCount = (p) => Object.values(p.special || {}).reduce((a, b) => a + b, 0);
const label = (p) => (p.level === 'grid' ? p.number : (p.name || p.code));

function colour(p) {
  if (p.level === 'grid') return {ok: '#66bd63', out_of_tolerance: '#d73027', oversize: '#4575b4', undersize: '#fdae61'}[p.status] || '#999';
  if (p.balance === null) return '#bbbbbb';
  return p.balance >= 0.9 ? '#66bd63' : p.balance >= 0.75 ? '#fee08b' : '#f46d43';
}

const href = (p) => (p.level === 'grid' ? cfg.grid_url : cfg.unit_url).replace('__CODE__', encodeURIComponent(p.code));
function open(p) { window.location.href = href(p); }

// The table's columns: heading, value to sort by, cell text.
function columns(doc) {
  const grids = doc.child_level === 'grid';
  const cols = [
    {head: grids ? w('grid') : w('drill_name'), key: (p) => (grids ? p.code : label(p)),
     text: (p) => `<a href="${esc(href(p))}">${esc(label(p))}</a>`, num: false},  // a link: keyboard, new tab
    {head: w('households'), key: (p) => p.households, text: (p) => fmt.format(p.households)},
  ];
  if (grids) cols.push({head: w('status'), key: (p) => p.status_text, text: (p) => esc(p.status_text), num: false});
  else {
    cols.push({head: w('drill_grids'), key: (p) => p.grids, text: (p) => fmt.format(p.grids)});
    cols.push({head: w('balance'), key: (p) => p.balance ?? -1, text: (p) => pct(p.balance)});
  }
  if (doc.totals.posts_required !== null) {
    cols.push({head: w('drill_posts'), key: (p) => (p.posts_required ? p.posts_filled / p.posts_required : 1),
               text: (p) => `${p.posts_filled} / ${p.posts_required}`});
    cols.push({head: w('drill_gap'), key: (p) => p.posts_missing, text: (p) => String(p.posts_missing),
               cls: (p) => (p.posts_missing > 0 ? 'gap' : '')});
  }
  if (Object.keys(doc.totals.special || {}).length) {
    const flags = (p) => Object.entries(p.special || {}).map(([k, n]) => `${w(`flag_${k}`)} ${n}`).join(cfg.lang === 'zh' ? '、' : ', ');
    cols.push({head: w('special_households'), key: specialCount,
               text: (p) => `<span title="${esc(flags(p))}">${specialCount(p)}</span>`});
  }
  return cols;
}

function drawTable(doc, layers) {
  const cols = columns(doc);
  const table = $('drill-table');
  const rows = doc.children.features.map((f) => f.properties);
  let sortBy = 0, dir = 1;
  const head = document.createElement('tr');
  cols.forEach((c, i) => {
    const th = document.createElement('th');
    th.scope = 'col';
    th.innerHTML = `<button type="button">${esc(c.head)}</button>`;
    th.querySelector('button').addEventListener('click', () => {
      dir = sortBy === i ? -dir : (c.num === false ? 1 : -1);
      sortBy = i;
      render();
    });
    head.appendChild(th);
  });
  table.tHead.appendChild(head);
  function render() {
    const c = cols[sortBy];
    const sorted = rows.slice().sort((a, b) => {
      const x = c.key(a), y = c.key(b);
      return (x < y ? -1 : x > y ? 1 : 0) * dir;
    });
    head.querySelectorAll('th').forEach((th, i) => {
      if (i === sortBy) th.setAttribute('aria-sort', dir > 0 ? 'ascending' : 'descending'); else th.removeAttribute('aria-sort');
    });
    const body = table.tBodies[0];
    body.replaceChildren(...sorted.map((p) => {
      const tr = document.createElement('tr');
      tr.dataset.code = p.code;
      tr.innerHTML = cols.map((col) => `<td class="${col.num === false ? '' : 'num'} ${col.cls ? col.cls(p) : ''}">${col.text(p)}</td>`).join('');
      tr.addEventListener('click', (e) => { if (!e.target.closest('a')) open(p); });
      tr.addEventListener('mouseenter', () => layers[p.code]?.setStyle({weight: 4}));
      tr.addEventListener('mouseleave', () => layers[p.code]?.setStyle({weight: 1.5}));
      return tr;
    }));
  }
  render();
}

function drawMap(doc) {
  const layers = {};
  const grids = doc.child_level === 'grid';
  const shown = L.geoJSON(doc.children, {
    style: (f) => ({fillColor: colour(f.properties), color: '#333', weight: 1.5, fillOpacity: grids ? 0.35 : 0.5}),
    onEachFeature: (f, layer) => {
      const p = f.properties;
      layers[p.code] = layer;
      layer.bindTooltip(`<b>${esc(label(p))}</b><br>${esc(w('households'))} ${fmt.format(p.households)}`
        + (grids ? `<br>${esc(p.status_text)}` : `<br>${esc(w('drill_grids'))} ${p.grids} · ${esc(w('balance'))} ${pct(p.balance)}`)
        + (p.posts_required !== null ? `<br>${esc(w('drill_gap'))} ${p.posts_missing}` : ''), {sticky: true});
      layer.on('click', () => open(p));
      layer.on('mouseover', () => document.querySelector(`#drill-table tr[data-code="${CSS.escape(p.code)}"]`)?.classList.add('on'));
      layer.on('mouseout', () => document.querySelector(`#drill-table tr[data-code="${CSS.escape(p.code)}"]`)?.classList.remove('on'));
    },
  }).addTo(map);
  // A child's label is shown when the child is wide enough on screen to hold it.
  const labels = doc.children.features.map((f) => {
    const bounds = L.geoJSON(f).getBounds();
    const text = label(f.properties);
    const marker = L.marker(bounds.getCenter(), {interactive: false, keyboard: false,
      icon: L.divIcon({className: 'drill-label', html: esc(text), iconSize: null})});
    const width = [...String(text)].reduce((w, c) => w + (c.charCodeAt(0) > 0x2e80 ? 12 : 7), 8);  // CJK: wider
    return {marker, bounds, width};
  });
  const group = L.layerGroup().addTo(map);
  function fitLabels() {
    for (const l of labels) {
      const px = map.latLngToContainerPoint(l.bounds.getNorthEast()).x - map.latLngToContainerPoint(l.bounds.getSouthWest()).x;
      if (px >= l.width) group.addLayer(l.marker); else group.removeLayer(l.marker);
    }
  }
  map.on('zoomend', fitLabels);
  if (shown.getBounds().isValid()) map.fitBounds(shown.getBounds(), {padding: [10, 10]});
  fitLabels();
  if (cfg.buildings_url) {
    fetch(cfg.buildings_url).then((r) => r.json()).then((data) => {
      L.geoJSON(data, {interactive: false, style: {color: '#666', weight: 0.5, fillColor: '#999', fillOpacity: 0.6}})
        .addTo(map).bringToBack();
      document.body.dataset.buildings = String(data.features.length);
    });
  }
  return layers;
}

fetch(cfg.api).then((r) => {
  if (!r.ok) throw new Error(`${r.status}`);
  return r.json();
}).then((doc) => {
  const layers = drawMap(doc);
  drawTable(doc, layers);
  $('drill-info').textContent = '';
  $('drill-panel').setAttribute('aria-busy', 'false');
  document.body.dataset.drawn = String(doc.children.features.length);
}).catch((err) => {
  $('drill-info').textContent = `${w('drill_failed')} (${err.message})`;
});
