/* gridplan editor: drawing on the page's Leaflet map. Grids coloured by the server
 * (maps.web.colours; a grid made by an edit takes a free colour of the server's palette), buildings
 * coloured by their grid, each grid labelled with the number the server sends
 * (partitioning.codes.short_code): the page holds no copy of either rule. */

import {cfg, ed, el, map, statusText, t} from './state.js';
import {getJSON} from './api.js';
import {dropSelection, onBuildingClick, onGridClick} from './selection.js';
import {gridName, renderAll, setState} from './panel.js';

const PALETTE = cfg.palette;  // the server's grid colours (maps.web.colours.PALETTE)
const LABEL_MIN_PX = 34;   // a grid's code is shown when the grid is at least this wide on screen
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

export function restyleGrids(ids) {
  for (const id of ids) { const l = ed.gridLayers.get(id); if (l) l.setStyle(gridStyle(id)); }
}

export function restyleBuildings(ids) {
  for (const id of ids) { const l = ed.buildingLayers.get(id); if (l) l.setStyle(buildingStyle(id)); }
}

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
    `${t('households')} ${p.households} · ${t('grid')} ${grid.number || ''}`);
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

/** The grid's code, on the member building nearest the grid's centre (always inside the grid). */
export function placeLabel(id) {
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
    marker.getElement().textContent = row.number || id;
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

export function removeGrid(id) {
  const layer = ed.gridLayers.get(id);
  if (layer) gridLayer.removeLayer(layer);
  const label = ed.labels.get(id);
  if (label) labelLayer.removeLayer(label);
  for (const m of [ed.gridLayers, ed.labels, ed.colours, ed.members, ed.rows]) m.delete(id);
  ed.selGrids = ed.selGrids.filter((g) => g !== id);
}

export function putGrid(feature) {
  const old = ed.gridLayers.get(feature.id);
  if (old) gridLayer.removeLayer(old);
  gridLayer.addData(feature);
  if (!ed.colours.has(feature.id)) assignColour(feature.id);
  ed.gridLayers.get(feature.id).setStyle(gridStyle(feature.id)).bringToBack();   // under the buildings
}

export function setBuildingGrid(bid, gid) {
  const old = ed.gridOf.get(bid);
  if (old !== undefined && ed.members.has(old)) ed.members.get(old).delete(bid);
  ed.gridOf.set(bid, gid);
  if (!ed.members.has(gid)) ed.members.set(gid, new Set());
  ed.members.get(gid).add(bid);
}

/** Every grid and building of the session, drawn afresh (first load, reload, restore). */
export async function loadAll() {
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
