/* gridplan editor: the page's shared state (docs/editor.md). The server's config (the map's
 * name, the API's address, the datum, the palette, the words in the page's language), the edit
 * session as the page holds it (`ed`), and small DOM helpers. Imports nothing. */

export const cfg = JSON.parse(document.getElementById('gp-editor-config').textContent);
export const map = window[cfg.map];
export const $ = (id) => document.getElementById(id);

/** The page's word for `key`, with `{name}` placeholders filled from `vars`. */
export function t(key, vars) {
  let s = cfg.words[key] || key;
  for (const [k, v] of Object.entries(vars || {})) s = s.split('{' + k + '}').join(String(v));
  return s;
}

/** An element with attributes, text and children (strings become text nodes, never HTML). */
export function el(tag, attrs, ...children) {
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

export const ed = {
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

export function statusText(status) { return t('status_' + status); }
