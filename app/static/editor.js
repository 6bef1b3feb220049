/* gridplan: the planner's editor page (app/templates/editor.html) over the editor API
 * (docs/editor.md). Plain ES2017, no build step, Leaflet 1.9 (the page's folium map).
 *
 * The page draws the user's edit session: grids coloured by status, buildings coloured by their
 * grid. A click on a building toggles it in the selection, a click on a grid selects the grid
 * (Ctrl/Shift-click adds one). Each operation posts to /edit/<op>; its answer replaces only the
 * changed grids' polygons, recolours the buildings it lists and refreshes the panel. A refused
 * edit (422) shows the server's reason and changes nothing. Everything that comes from the server
 * or the user is inserted as text (textContent), never as HTML.
 */
(function () {
  'use strict';

  const cfg = JSON.parse(document.getElementById('gp-editor-config').textContent);
  const map = window[cfg.map];
  const PALETTE = ['#8dd3c7', '#ffffb3', '#bebada', '#fb8072', '#80b1d3', '#fdb462', '#b3de69',
    '#fccde5', '#d9d9d9', '#bc80bd', '#ccebc5', '#ffed6f'];
  const LABEL_MIN_PX = 34;   // a grid's code is shown when the grid is at least this wide on screen
  const LATEST_POLL_MS = 60000;  // how often the page asks whether someone saved a newer version

  const $ = (id) => document.getElementById(id);

  /** The page's word for `key`, with `{name}` placeholders filled from `vars`. */
  function t(key, vars) {
    let s = cfg.words[key] || key;
    for (const [k, v] of Object.entries(vars || {})) s = s.split('{' + k + '}').join(String(v));
    return s;
  }

  /** An element with attributes, text and children (strings become text nodes, never HTML). */
  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') e.className = v;
      else if (k === 'text') e.textContent = v;
      else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v === true ? '' : v);
    }
    for (const c of children) if (c !== null && c !== undefined) e.append(c);
    return e;
  }

  const ed = {
    state: null,              // the last state from the API
    rows: new Map(),          // grid_id → {grid_code, households, n_buildings, status, locked}
    gridLayers: new Map(),    // grid_id → Leaflet polygon
    buildingLayers: new Map(),
    labels: new Map(),        // grid_id → label marker
    colours: new Map(),       // grid_id → fill colour
    gridOf: new Map(),        // building_id → grid_id
    members: new Map(),       // grid_id → Set of building_id
    households: new Map(),    // building_id → households
    names: new Map(),         // building_id → its name or address from the data (label), when it has one
    selBuildings: new Set(),
    partners: [],             // buildings the server added to the selection (overlapping footprints)
    targets: [],
    from: [],
    selGrids: [],
    boxEnded: false,          // a box selection just ended: its click is not a selection click
    proposal: null,           // {grid, other, seed, cut}: a split waiting for Accept / Reject / Another cut
    busy: false,              // a request is under way
    hold: false,              // a compound action (another cut) is under way: the page stays busy
    targetsAsked: 0,
  };

  // --- talking to the API ---------------------------------------------------------------------

  function url(path, withDatum) {
    const u = cfg.api + path;
    return withDatum ? u + (u.includes('?') ? '&' : '?') + 'datum=' + encodeURIComponent(cfg.datum) : u;
  }

  /** One request to the editor API: `{status, data}`. A POST whose CSRF token has expired (the
   * page sat idle) gets a fresh token from the state and is sent once more. */
  async function request(method, path, body, withDatum, retried) {
    const opts = {method, credentials: 'same-origin', headers: {Accept: 'application/json'}};
    if (method !== 'GET') {
      opts.headers['Content-Type'] = 'application/json';
      opts.headers['X-CSRFToken'] = ed.state ? ed.state.csrf_token : '';
      opts.body = JSON.stringify(body || {});
    }
    const resp = await fetch(url(path, withDatum), opts);
    let data = null;
    try { data = await resp.json(); } catch (e) { data = {error: resp.statusText}; }
    if (method !== 'GET' && resp.status === 400 && !retried && /CSRF/.test((data && data.error) || '')) {
      const fresh = await fetch(url('/edit'), {credentials: 'same-origin'});
      if (fresh.ok && ed.state) {
        ed.state.csrf_token = (await fresh.json()).csrf_token;
        return request(method, path, body, withDatum, true);
      }
    }
    if (data && data.csrf_token && ed.state) ed.state.csrf_token = data.csrf_token;
    return {status: resp.status, data};
  }

  async function getJSON(path, withDatum) {
    const {status, data} = await request('GET', path, null, withDatum);
    if (status !== 200) throw new Error((data && data.error) || String(status));
    return data;
  }

  // --- messages -------------------------------------------------------------------------------

  function showAlert(prefixKey, message) {
    const box = $('ed-alert');
    box.replaceChildren(el('strong', {text: t(prefixKey)}), document.createTextNode(message));
    box.hidden = false;
  }

  /** A failed request's message: refused (422, with the server's reason) or failed. */
  function showFailure(status, data) {
    showAlert(status === 422 ? 'editor_refused' : 'editor_failed', (data && data.error) || String(status));
  }

  function clearAlert() { $('ed-alert').hidden = true; $('ed-alert').replaceChildren(); }

  function info(message) { $('ed-info').textContent = message; }

  function setBusy(busy) {
    ed.busy = busy;
    $('ed-panel').setAttribute('aria-busy', busy || ed.hold ? 'true' : 'false');
    if (busy) info(t('editor_working'));
    renderButtons();
  }

  // --- drawing --------------------------------------------------------------------------------

  // Grids and buildings share one canvas (SVG took twice as long to draw 22,000 buildings and
  // 7,400 grids, and a second canvas above would catch the clicks meant for the grids): the grids
  // are drawn first and kept at the back, so a click finds a building before its grid.
  map.createPane('gpShapes').style.zIndex = 410;
  map.createPane('gpLabels').style.zIndex = 430;
  map.getPane('gpLabels').style.pointerEvents = 'none';
  const shapes = L.canvas({pane: 'gpShapes', padding: 0.5});

  /** A GeoJSON layer on the shared canvas whose features are kept by id in ``byId``. */
  function shapeLayer(style, byId, onClick, tooltip) {
    return L.geoJSON(null, {
      pane: 'gpShapes', renderer: shapes,
      style: (f) => style(f.id),
      onEachFeature: (f, layer) => {
        byId.set(f.id, layer);
        layer.on('click', onClick);
        layer.bindTooltip(() => tooltip(f), {sticky: true});
      },
    }).addTo(map);
  }

  const gridLayer = shapeLayer(gridStyle, ed.gridLayers, onGridClick, (f) => gridTooltip(f.id));
  const buildingLayer = shapeLayer(buildingStyle, ed.buildingLayers, onBuildingClick, buildingTooltip);

  const labelLayer = L.layerGroup().addTo(map);

  function gridStyle(id) {
    const row = ed.rows.get(id) || {};
    const selected = ed.selGrids.includes(id);
    const flagged = row.status && row.status !== 'ok';
    const locked = Boolean(row.locked);
    return {
      color: selected ? '#1f5fa8' : flagged ? '#d62728' : locked ? '#222222' : '#555555',
      weight: selected ? 4 : flagged ? 2.5 : locked ? 3 : 1,
      dashArray: flagged ? '7 4' : locked ? '2 5' : null,
      fillColor: flagged ? '#d62728' : (ed.colours.get(id) || '#cccccc'),
      fillOpacity: locked ? 0.08 : flagged ? 0.22 : 0.3,
    };
  }

  function buildingStyle(id) {
    const selected = ed.selBuildings.has(id);
    return {
      color: selected ? '#0b2fa8' : '#444444', weight: selected ? 3 : 0.6,
      fillColor: selected ? '#ffd400' : (ed.colours.get(ed.gridOf.get(id)) || '#999999'),
      fillOpacity: selected ? 0.95 : 0.85,
    };
  }

  function restyleGrids(ids) {
    for (const id of ids) { const l = ed.gridLayers.get(id); if (l) l.setStyle(gridStyle(id)); }
  }

  function restyleBuildings(ids) {
    for (const id of ids) { const l = ed.buildingLayers.get(id); if (l) l.setStyle(buildingStyle(id)); }
  }

  function statusText(status) { return t('status_' + status); }

  function gridTooltip(id) {
    const row = ed.rows.get(id) || {};
    return el('div', {class: 'ed-tip'},
      el('strong', {text: gridName(id)}),
      el('br'), `${t('households')} ${row.households} · ${t('buildings')} ${row.n_buildings}`,
      el('br'), statusText(row.status) + (row.locked ? ' · ' + t('editor_locked') : ''));
  }

  function buildingTooltip(f) {
    const p = f.properties;
    const grid = ed.rows.get(ed.gridOf.get(f.id)) || {};
    return el('div', {class: 'ed-tip'},
      ...(p.label ? [el('strong', {text: p.label}), el('br')] : []),
      `${t('households')} ${p.households} · ${t('grid')} ${grid.grid_code ? shortCode(grid.grid_code) : ''}`);
  }

  /** A colour no grid with overlapping bounds has (bounds stand in for adjacency). */
  function assignColour(id) {
    const layer = ed.gridLayers.get(id);
    if (!layer) return;
    const box = layer.getBounds().pad(0.02);
    const used = new Set();
    for (const [other, l] of ed.gridLayers) {
      if (other !== id && ed.colours.has(other) && l.getBounds().intersects(box)) used.add(ed.colours.get(other));
    }
    let hash = 0;
    for (const c of String(id)) hash = (hash * 31 + c.charCodeAt(0)) >>> 0;
    ed.colours.set(id, PALETTE.find((c) => !used.has(c)) || PALETTE[hash % PALETTE.length]);
  }

  /** The grid's number people read (partitioning.codes.short_code): prefix and leading zeros dropped. */
  function shortCode(code) {
    let rest = String(code);
    if (cfg.code_prefix && rest.startsWith(cfg.code_prefix)) rest = rest.slice(cfg.code_prefix.length);
    return rest.replace(/^0+/, '') || rest;
  }

  /** The grid's code, on the member building nearest the grid's centre (always inside the grid). */
  function placeLabel(id) {
    const old = ed.labels.get(id);
    if (old) labelLayer.removeLayer(old);
    ed.labels.delete(id);
    const layer = ed.gridLayers.get(id);
    if (!layer) return;
    const centre = layer.getBounds().getCenter();
    let best = centre, bestD = Infinity;
    for (const b of ed.members.get(id) || []) {
      const bl = ed.buildingLayers.get(b);
      if (!bl) continue;
      const c = bl.getBounds().getCenter();
      const d = (c.lat - centre.lat) ** 2 + (c.lng - centre.lng) ** 2;
      if (d < bestD) { best = c; bestD = d; }
    }
    const row = ed.rows.get(id) || {};
    const icon = L.divIcon({className: 'ed-label' + (row.locked ? ' ed-label-locked' : '') +
      (row.status && row.status !== 'ok' ? ' ed-label-flagged' : ''), html: '', iconSize: null});
    const marker = L.marker(best, {icon, interactive: false, keyboard: false, pane: 'gpLabels'});
    marker.on('add', () => {
      marker.getElement().textContent = shortCode(row.grid_code || id);
      showLabel(id, marker);
    });
    ed.labels.set(id, marker);
    labelLayer.addLayer(marker);
  }

  function showLabel(id, marker) {
    const layer = ed.gridLayers.get(id);
    const element = marker.getElement();
    if (!layer || !element) return;
    const b = layer.getBounds();
    const width = map.latLngToLayerPoint(b.getNorthEast()).x - map.latLngToLayerPoint(b.getSouthWest()).x;
    element.style.display = width >= LABEL_MIN_PX ? '' : 'none';
  }

  map.on('zoomend', () => { for (const [id, m] of ed.labels) showLabel(id, m); });

  function removeGrid(id) {
    const layer = ed.gridLayers.get(id);
    if (layer) gridLayer.removeLayer(layer);
    const label = ed.labels.get(id);
    if (label) labelLayer.removeLayer(label);
    for (const m of [ed.gridLayers, ed.labels, ed.colours, ed.members, ed.rows]) m.delete(id);
    ed.selGrids = ed.selGrids.filter((g) => g !== id);
  }

  function putGrid(feature) {
    const old = ed.gridLayers.get(feature.id);
    if (old) gridLayer.removeLayer(old);
    gridLayer.addData(feature);
    if (!ed.colours.has(feature.id)) assignColour(feature.id);
    ed.gridLayers.get(feature.id).setStyle(gridStyle(feature.id)).bringToBack();   // under the buildings
  }

  function setBuildingGrid(bid, gid) {
    const old = ed.gridOf.get(bid);
    if (old !== undefined && ed.members.has(old)) ed.members.get(old).delete(bid);
    ed.gridOf.set(bid, gid);
    if (!ed.members.has(gid)) ed.members.set(gid, new Set());
    ed.members.get(gid).add(bid);
  }

  /** Every grid and building of the session, drawn afresh (first load, reload, restore). */
  async function loadAll() {
    const [state, grids, buildings] = await Promise.all([
      getJSON('/edit'), getJSON('/edit/grids.geojson', true), getJSON('/edit/buildings.geojson', true)]);
    gridLayer.clearLayers(); buildingLayer.clearLayers(); labelLayer.clearLayers();
    for (const m of [ed.gridLayers, ed.buildingLayers, ed.labels, ed.colours, ed.gridOf, ed.members, ed.households,
      ed.names]) m.clear();
    dropSelection(); ed.selGrids = []; ed.proposal = null;
    setState(state);
    const features = grids.features.slice().sort((a, b) => String(a.id).localeCompare(String(b.id)));
    gridLayer.addData({type: 'FeatureCollection', features});
    for (const f of features) {   // the web maps' colours; a grid made by an edit gets one here
      if (f.properties.colour) ed.colours.set(f.id, f.properties.colour); else assignColour(f.id);
    }
    for (const f of buildings.features) {
      setBuildingGrid(f.id, f.properties.grid_id);
      ed.households.set(f.id, Number(f.properties.households));
      if (f.properties.label) ed.names.set(f.id, f.properties.label);
    }
    buildingLayer.addData(buildings);
    restyleGrids(ed.gridLayers.keys());
    for (const id of ed.gridLayers.keys()) placeLabel(id);
    renderAll();
  }

  // --- selection ------------------------------------------------------------------------------

  function onBuildingClick(e) {
    L.DomEvent.stopPropagation(e);
    if (ed.boxEnded) return;   // the click that ends a box selection
    const id = e.target.feature.id;
    const changed = [id];
    if (ed.selBuildings.has(id)) {
      ed.selBuildings.delete(id);
      // the footprints the server added go too; those still needed come back with the targets
      for (const p of ed.partners) { ed.selBuildings.delete(p); changed.push(p); }
      ed.partners = [];
    } else {
      ed.selBuildings.add(id);
    }
    restyleBuildings(changed);
    refreshTargets();
  }

  function onGridClick(e) {
    if (ed.boxEnded) return;
    const id = e.target.feature.id;
    const ev = e.originalEvent || {};
    if (ed.selBuildings.size && ed.targets.some((g) => g.grid_id === id && !g.locked)) {
      $('ed-target').value = id;   // a click on a target grid picks it for the move
      renderButtons();
      return;
    }
    const before = ed.selGrids.slice();
    if (ev.ctrlKey || ev.shiftKey || ev.metaKey) {
      ed.selGrids = ed.selGrids.includes(id) ? ed.selGrids.filter((g) => g !== id) : ed.selGrids.concat([id]);
    } else {
      ed.selGrids = before.length === 1 && before[0] === id ? [] : [id];
    }
    restyleGrids(new Set(before.concat(ed.selGrids)));
    renderGridSelection();
  }

  /* Shift-drag draws a box: the buildings whose centre is in it join the selection (this replaces
   * Leaflet's Shift-drag zoom on this page; a Shift-click without a drag still adds a grid). */
  map.boxZoom.disable();
  let box = null, boxStart = null;
  map.getContainer().addEventListener('mousedown', (ev) => {
    if (!ev.shiftKey || ev.button !== 0 || ed.busy) return;
    ev.stopPropagation();   // no panning while the box is drawn
    boxStart = map.mouseEventToLatLng(ev);
    box = L.rectangle(L.latLngBounds(boxStart, boxStart), {pane: 'gpLabels', interactive: false,
      color: '#0b2fa8', weight: 1, dashArray: '4 3', fillOpacity: 0.08}).addTo(map);
  }, true);
  document.addEventListener('mousemove', (ev) => {
    if (box) box.setBounds(L.latLngBounds(boxStart, map.mouseEventToLatLng(ev)));
  });
  document.addEventListener('mouseup', (ev) => {
    if (!box) return;
    const start = map.latLngToContainerPoint(boxStart), end = map.mouseEventToContainerPoint(ev);
    const bounds = L.latLngBounds(boxStart, map.mouseEventToLatLng(ev));
    box.remove();
    box = null;
    if (start.distanceTo(end) < 4) return;   // a Shift-click, not a box
    ed.boxEnded = true;
    setTimeout(() => { ed.boxEnded = false; }, 0);
    const added = [];
    for (const [id, layer] of ed.buildingLayers) {
      if (!ed.selBuildings.has(id) && bounds.contains(layer.getBounds().getCenter())) added.push(id);
    }
    for (const id of added) ed.selBuildings.add(id);
    restyleBuildings(added);
    refreshTargets();
  });

  /** Empty the building selection (and what came with it); returns the buildings it held. */
  function dropSelection() {
    const ids = Array.from(ed.selBuildings);
    ed.selBuildings.clear(); ed.partners = []; ed.targets = []; ed.from = [];
    return ids;
  }

  function clearSelection() {
    ed.targetsAsked++;   // an answer still on its way is for a selection that is gone
    restyleBuildings(dropSelection());
    renderSelection();
  }

  /** The grids the selection may move to (and the overlapping footprints it must take along). */
  async function refreshTargets() {
    const asked = ++ed.targetsAsked;
    if (!ed.selBuildings.size) { ed.targets = []; ed.from = []; renderSelection(); return; }
    renderSelection();
    const query = Array.from(ed.selBuildings).map((b) => 'buildings=' + encodeURIComponent(b)).join('&');
    const {status, data} = await request('GET', '/edit/targets?' + query);
    if (asked !== ed.targetsAsked) return;   // the selection changed meanwhile
    if (status !== 200) { showFailure(status, data); return; }
    const added = (data.partners || []).filter((b) => !ed.selBuildings.has(b));
    for (const b of added) ed.selBuildings.add(b);
    ed.partners = Array.from(new Set(ed.partners.concat(data.partners || [])));
    restyleBuildings(added);
    ed.targets = data.targets || [];
    ed.from = data.from || [];
    renderSelection();
  }

  // --- operations -----------------------------------------------------------------------------

  /** Post operation `op`; on success redraw what it changed. Returns the answer, or null when refused. */
  async function operate(op, body) {
    if (ed.busy) return null;
    setBusy(true);
    clearAlert();
    const t0 = performance.now();
    let answer = null;
    try {
      const {status, data} = await request('POST', '/edit/' + op, body, true);
      if (status === 200) {
        applyResult(op, data, t0);
        answer = data;
      } else {
        showFailure(status, data);
        if (status === 409) await loadAll();   // the session changed elsewhere (another window): show it as stored
      }
    } catch (err) {
      showAlert('editor_failed', String(err.message || err));
    } finally {
      setBusy(false);
      info('');
    }
    return answer;
  }

  /** Redraw what an operation changed; `t0`: when it was asked (the latency shown runs to the redraw). */
  function applyResult(op, data, t0) {
    const before = new Map(Array.from(ed.rows, ([id, r]) => [id, r.households]));
    const numbers = new Map(Array.from(ed.rows.keys(), (id) => [id, gridName(id)]));  // removed grids keep theirs
    setState(data);
    const changedIds = data.changed.features.map((f) => f.id);
    for (const id of data.removed || []) removeGrid(id);
    for (const f of data.changed.features) putGrid(f);
    const recolour = new Set(Object.keys(data.buildings));  // every building of the changed grids
    for (const [bid, gid] of Object.entries(data.buildings)) setBuildingGrid(bid, gid);
    if (op === 'move' || op === 'undo' || op === 'redo') {
      for (const b of dropSelection()) recolour.add(b);
    }
    restyleBuildings(recolour);
    for (const id of changedIds) placeLabel(id);
    ed.selGrids = ed.selGrids.filter((g) => ed.rows.has(g));
    restyleGrids(ed.gridLayers.keys());
    if (op !== 'split') hideProposal();
    renderChanges(before, changedIds, data.removed || [], numbers);
    renderAll();
    if (ed.selBuildings.size) refreshTargets();   // the grids around the selection may have changed
    $('ed-latency').textContent = t('editor_latency', {op: t('editor_op_' + op), server: Math.round(data.elapsed_ms),
      total: Math.round(performance.now() - t0)});
  }

  async function move() {
    const target = $('ed-target').value;
    if (!ed.selBuildings.size || !target) return;
    await operate('move', {buildings: Array.from(ed.selBuildings), to_grid: target});
  }

  /** Split `grid`: seed 0 the engine's cut, seed k the k-th other cut; shown for Accept / Reject / Another cut. */
  async function split(grid, seed) {
    const data = await operate('split', {grid, seed});
    if (!data) return null;
    const other = data.changed.features.map((f) => f.id).find((g) => g !== grid);
    ed.proposal = {grid, other, seed};
    ed.selGrids = [grid, other].filter((g) => ed.rows.has(g));
    restyleGrids(ed.gridLayers.keys());
    showProposal();
    renderGridSelection();
    return ed.proposal;
  }

  function showProposal() {
    const p = ed.proposal;
    const a = ed.rows.get(p.grid) || {}, b = ed.rows.get(p.other) || {};
    $('ed-proposal-text').textContent = t('editor_proposal', {a: shortCode(a.grid_code), na: a.households,
      b: shortCode(b.grid_code), nb: b.households});
    $('ed-proposal').hidden = false;
  }

  function hideProposal() { ed.proposal = null; $('ed-proposal').hidden = true; }

  /** Reject the proposed cut (undo it); with `another`, show the server's next other cut (split
   * with the next seed: a new cut each time, best first, until the server says there is none). */
  async function rejectProposal(another) {
    const first = ed.proposal;
    if (!first || ed.busy || ed.hold) return;
    ed.hold = true;
    try {
      if (!await operate('undo', {})) return;
      ed.selGrids = [first.grid];
      if (another) {
        await split(first.grid, first.seed + 1);
      } else {
        restyleGrids(ed.gridLayers.keys());
        renderGridSelection();
      }
    } finally {
      ed.hold = false;
      setBusy(false);
    }
  }

  async function lockToggle() {
    const allLocked = ed.selGrids.every((g) => (ed.rows.get(g) || {}).locked);
    await operate(allLocked ? 'unlock' : 'lock', {grids: ed.selGrids.slice()});
  }

  // --- saving and versions --------------------------------------------------------------------

  async function save() {
    if (ed.busy) return;
    setBusy(true);
    clearAlert();
    $('ed-conflict').hidden = true;
    try {
      const {status, data} = await request('POST', '/versions',
        {base_version: ed.state.base_version, comment: $('ed-comment').value});
      if (status === 201) {
        $('ed-comment').value = '';
        setState(await getJSON('/edit'));
        info(t('editor_saved', {v: data.version}));
        $('ed-info').dataset.saved = data.version;
        await loadVersions();
      } else if (status === 409) {
        $('ed-conflict-text').replaceChildren(el('strong', {text: t('editor_conflict')}), data.error || '');
        $('ed-refused').replaceChildren();
        $('ed-refused-title').hidden = true;
        $('ed-reload').hidden = false;
        $('ed-conflict').hidden = false;
        setState(await getJSON('/edit'));
      } else {
        showFailure(status, data);
      }
    } finally {
      setBusy(false);
      renderAll();
    }
  }

  async function reloadAndReapply() {
    if (ed.busy) return;
    setBusy(true);
    try {
      const {status, data} = await request('POST', '/edit/reload', {});
      if (status !== 200) { showFailure(status, data); return; }
      await loadAll();
      const refused = data.refused || [];
      $('ed-refused').replaceChildren(...refused.map((r) => el('li', {text: `${t('editor_op_' + r.op)}: ${r.reason}`})));
      $('ed-refused-title').hidden = !refused.length;
      $('ed-conflict-text').textContent = t('editor_reloaded', {v: data.base_version, n: data.operations.length});
      $('ed-reload').hidden = true;
      await loadVersions();
    } finally {
      setBusy(false);
      renderAll();
    }
  }

  async function restore(version) {
    if (ed.busy) return;
    if (ed.state.can_undo && !window.confirm(t('editor_confirm_restore', {v: version}))) return;
    setBusy(true);
    clearAlert();
    try {
      const latest = ed.state.latest_version;
      const comment = $('ed-comment').value;
      const {status, data} = await request('POST', `/versions/${version}/restore`,
        comment ? {base_version: latest, comment} : {base_version: latest});
      if (status !== 201) { showFailure(status, data); return; }
      $('ed-comment').value = '';
      await loadAll();
      info(t('editor_restored', {old: data.restored, v: data.version}));
      $('ed-info').dataset.saved = data.version;
      await loadVersions();
    } finally {
      setBusy(false);
      renderAll();
    }
  }

  async function loadVersions() {
    const data = await getJSON('/versions');
    const versions = data.versions || [];
    const latest = versions.length ? versions[0].version : null;
    $('ed-versions').replaceChildren(...versions.map((v) => versionItem(v, v.version === latest)));
  }

  function versionItem(v, isLatest) {
    const when = v.created ? new Date(v.created).toLocaleString(cfg.lang === 'zh' ? 'zh-CN' : 'en-GB') : '';
    const item = el('li', {'data-version': v.version},
      el('div', {class: 'ed-version-head'},
        el('strong', {text: t('editor_version', {v: v.version})}), ` · ${v.author || ''} · ${when}`));
    if (v.comment) item.append(el('div', {class: 'ed-version-comment', text: v.comment}));
    if (v.diff && v.diff.summary) {
      const s = v.diff.summary;
      const moved = v.diff.moved || [];
      const diff = el('details', {class: 'ed-diff'},
        el('summary', {},
          el('span', {class: 'ed-moved-count', 'data-moved': s.buildings_moved,
            text: t('editor_diff', {moved: s.buildings_moved, added: s.grids_added, removed: s.grids_removed,
              changed: s.grids_changed + s.grids_households})})),
        el('p', {class: 'ed-ids'}, `${t('editor_moved_ids')}: `,
          moved.map(movedText).join(cfg.lang === 'zh' ? '；' : '; ') || '–'));
      item.append(diff);
    } else if (v.version === 1 && !v.comment) {
      item.append(el('div', {class: 'ed-hint', text: t('editor_first_version')}));
    }
    if (!isLatest) {
      item.append(el('button', {type: 'button', class: 'ed-restore', text: t('editor_restore'),
        onclick: () => restore(v.version)}));
    }
    return item;
  }

  // --- the panel ------------------------------------------------------------------------------

  function setState(state) {
    ed.state = state;
    ed.rows = new Map(state.grids.map((g) => [g.grid_id, g]));
  }

  function renderAll() {
    renderFigures();
    renderSelection();
    renderGridSelection();
    renderWarnings();
    renderButtons();
  }

  function renderFigures() {
    const s = ed.state, m = s.metrics || {};
    $('ed-n-grids').textContent = ed.rows.size;
    const known = (v) => v !== undefined && v !== null;
    $('ed-balance').textContent = known(m.share_within_tolerance) ? (100 * m.share_within_tolerance).toFixed(1) + '%' : '–';
    $('ed-hh-range').textContent = known(m.households_min) ? `${m.households_min}–${m.households_max}` : '–';
    $('ed-base-version').textContent = s.base_version;
    $('ed-latest-version').textContent = s.latest_version;
    $('ed-unsaved').textContent = s.operations.length;
    const newer = s.latest_version > s.base_version;
    $('ed-newer').hidden = !newer;
    $('ed-newer').textContent = newer ? t('editor_newer', {v: s.latest_version}) : '';
  }

  /** A building moved in a version: its name or address, else its number in its new grid; grids by number. */
  function movedText(m) {
    const from = m.from_number || shortCode(m.from_code || ''), to = m.to_number || shortCode(m.to_code || '');
    const name = m.name || t('building_in_grid', {grid: to, no: m.number});
    return `${name} (${from} → ${to})`;
  }

  /** A grid as people know it: its number (never its internal id). */
  function gridName(id) {
    const row = ed.rows.get(id);
    return row ? shortCode(row.grid_code) : '–';
  }

  /** Buildings as people know them: names or addresses where the data has them, else how many. */
  function buildingNames(ids) {
    const named = ids.filter((b) => ed.names.has(b)).map((b) => ed.names.get(b));
    const others = ids.length - named.length;
    if (others) named.push(t('editor_sel_summary', {n: others, hh: ids.filter((b) => !ed.names.has(b))
      .reduce((sum, b) => sum + (ed.households.get(b) || 0), 0)}));
    return named.join(cfg.lang === 'zh' ? '、' : ', ');
  }

  function renderSelection() {
    const ids = Array.from(ed.selBuildings);
    const hh = ids.reduce((sum, b) => sum + (ed.households.get(b) || 0), 0);
    $('ed-sel-summary').textContent = ids.length ? t('editor_sel_summary', {n: ids.length, hh})
      : t('editor_select_hint');
    $('ed-sel-summary').dataset.households = hh;
    $('ed-sel-ids').textContent = ids.some((b) => ed.names.has(b)) ? buildingNames(ids) : '';
    $('ed-sel-ids').dataset.ids = ids.join(',');   // for programs; people read names, never ids
    const from = ed.from.filter((g) => ed.rows.has(g));
    $('ed-sel-from').textContent = from.length ? `${t('editor_from')}: ` +
      from.map((g) => `${gridName(g)} (${ed.rows.get(g).households})`).join(', ') : '';
    const partners = ed.partners.filter((b) => ed.selBuildings.has(b));
    $('ed-partners').hidden = !partners.length;
    $('ed-partners').textContent = partners.length ? t('editor_partners', {ids: buildingNames(partners)}) : '';
    const select = $('ed-target');
    const keep = select.value;
    const options = ed.targets.map((g) => el('option', {value: g.grid_id, 'data-households': g.households,
      disabled: g.locked, text: `${shortCode(g.grid_code)} (${t('households')} ${g.households})` +
        (g.locked ? ' · ' + t('editor_locked') : '')}));
    if (ids.length && !ed.targets.length) options.push(el('option', {value: '', text: t('editor_no_targets')}));
    select.replaceChildren(...options);
    if (ed.targets.some((g) => g.grid_id === keep && !g.locked)) select.value = keep;
    else select.value = (ed.targets.find((g) => !g.locked) || {grid_id: ''}).grid_id;
    renderButtons();
  }

  function renderGridSelection() {
    const body = $('ed-grid-table').tBodies[0];
    body.replaceChildren(...ed.selGrids.filter((g) => ed.rows.has(g)).map((g) => {
      const r = ed.rows.get(g);
      const link = el('a', {href: cfg.grid_url.replace('__CODE__', encodeURIComponent(r.grid_code)),
        target: '_blank', rel: 'noopener', title: t('editor_open_grid'), text: shortCode(r.grid_code)});
      return el('tr', {'data-grid': g, class: r.status !== 'ok' ? 'ed-flagged' : null},
        el('td', {}, link), el('td', {class: 'num ed-hh', text: r.households}),
        el('td', {class: 'num', text: r.n_buildings}), el('td', {text: statusText(r.status)}),
        el('td', {text: r.locked ? t('editor_yes') : t('editor_no')}));
    }));
    const allLocked = ed.selGrids.length && ed.selGrids.every((g) => (ed.rows.get(g) || {}).locked);
    $('ed-lock').textContent = allLocked ? t('editor_unlock') : t('editor_lock');
    renderButtons();
  }

  function renderChanges(before, changed, removed, numbers) {
    const rows = changed.map((g) => el('tr', {'data-grid': g},
      el('td', {text: gridName(g)}),
      el('td', {class: 'num ed-before', text: before.has(g) ? before.get(g) : t('editor_new')}),
      el('td', {class: 'num ed-after', text: ed.rows.has(g) ? ed.rows.get(g).households : t('editor_removed')})));
    for (const g of removed) {
      rows.push(el('tr', {'data-grid': g}, el('td', {text: numbers.get(g) || '–'}),
        el('td', {class: 'num ed-before', text: before.has(g) ? before.get(g) : ''}),
        el('td', {class: 'num ed-after', text: t('editor_removed')})));
    }
    $('ed-changes').querySelector('tbody').replaceChildren(...rows);
    $('ed-changes').hidden = !rows.length;
  }

  function renderWarnings() {
    const items = (ed.state.warnings || []).map((w) => el('li', {class: 'ed-op-warning', text: w}));
    for (const [id, r] of ed.rows) {
      if (r.status === 'ok') continue;
      items.push(el('li', {'data-grid': id},
        el('a', {href: '#', text: `${shortCode(r.grid_code)}: ${t('households')} ${r.households} · ${statusText(r.status)}`,
          onclick: (e) => { e.preventDefault(); focusGrid(id); }})));
    }
    $('ed-warnings').querySelector('summary').textContent = t('editor_warnings', {n: items.length});
    $('ed-warnings').querySelector('ul').replaceChildren(...items);
  }

  function focusGrid(id) {
    const layer = ed.gridLayers.get(id);
    if (!layer) return;
    map.fitBounds(layer.getBounds(), {maxZoom: 19, padding: [30, 30]});
    const before = ed.selGrids;
    ed.selGrids = [id];
    restyleGrids(new Set(before.concat([id])));
    renderGridSelection();
  }

  function renderButtons() {
    const s = ed.state, busy = ed.busy || ed.hold || !s;
    const n = ed.selGrids.length;
    $('ed-undo').disabled = busy || !s.can_undo;
    $('ed-redo').disabled = busy || !s.can_redo;
    $('ed-move').disabled = busy || !ed.selBuildings.size || !$('ed-target').value;
    $('ed-target').disabled = busy || !ed.targets.length;
    $('ed-clear').disabled = busy || !ed.selBuildings.size;
    $('ed-split').disabled = busy || n !== 1;
    $('ed-merge').disabled = busy || n !== 2;
    $('ed-lock').disabled = busy || n < 1;
    $('ed-rerun').disabled = busy || n < 1;
    $('ed-save-btn').disabled = busy;
    for (const b of ['ed-accept', 'ed-reject', 'ed-another']) $(b).disabled = busy;
    for (const b of document.querySelectorAll('.ed-restore')) b.disabled = busy;
  }

  // --- wiring ---------------------------------------------------------------------------------

  $('ed-move').addEventListener('click', move);
  $('ed-target').addEventListener('change', renderButtons);
  $('ed-clear').addEventListener('click', clearSelection);
  $('ed-undo').addEventListener('click', () => operate('undo', {}));
  $('ed-redo').addEventListener('click', () => operate('redo', {}));
  $('ed-split').addEventListener('click', () => split(ed.selGrids[0], 0));
  $('ed-merge').addEventListener('click', () => operate('merge', {grids: ed.selGrids.slice(0, 2)}));
  $('ed-lock').addEventListener('click', lockToggle);
  $('ed-rerun').addEventListener('click', () => operate('rerun', {grids: ed.selGrids.slice(), seed: 0}));
  $('ed-accept').addEventListener('click', () => { hideProposal(); renderGridSelection(); });
  $('ed-reject').addEventListener('click', () => rejectProposal(false));
  $('ed-another').addEventListener('click', () => rejectProposal(true));
  $('ed-save-btn').addEventListener('click', save);
  $('ed-reload').addEventListener('click', reloadAndReapply);
  document.addEventListener('keydown', (e) => {
    if (e.target.closest && e.target.closest('input, textarea, select')) return;
    const key = e.key.toLowerCase();
    if ((e.ctrlKey || e.metaKey) && key === 'z' && !e.shiftKey) { e.preventDefault(); if (ed.state && ed.state.can_undo) operate('undo', {}); }
    else if ((e.ctrlKey || e.metaKey) && (key === 'y' || (key === 'z' && e.shiftKey))) { e.preventDefault(); if (ed.state && ed.state.can_redo) operate('redo', {}); }
    else if (key === 'escape') clearSelection();
  });

  /* Someone else may save meanwhile: the latest version is asked for when the window gets the
   * focus back and every minute while the page is in view, so the "newer version" notice shows
   * before the planner saves. */
  async function checkLatest() {
    if (document.visibilityState !== 'visible' || ed.busy || ed.hold || !ed.state) return;
    try {
      const state = await getJSON('/edit');
      if (!ed.busy && ed.state) { ed.state.latest_version = state.latest_version; renderFigures(); }
    } catch (err) { /* offline for a moment: the next answer tells */ }
  }
  setInterval(checkLatest, LATEST_POLL_MS);
  window.addEventListener('focus', checkLatest);

  (async function start() {
    try {
      await loadAll();
      await loadVersions();
      info('');
      const asked = decodeURIComponent(window.location.hash.replace(/^#grid=/, ''));
      if (asked && ed.rows.has(asked)) focusGrid(asked);   // from a grid page's "edit" link
      $('ed-panel').setAttribute('aria-busy', 'false');
      $('ed-panel').dataset.ready = 'true';
    } catch (err) {
      showAlert('editor_failed', String(err.message || err));
    }
  })();
})();
