/* gridplan editor: selecting buildings (click, Shift-drag box) and grids (click, Ctrl/Shift-click),
 * and asking the server which grids the selected buildings may move to. */

import {$, ed, map} from './state.js';
import {request} from './api.js';
import {restyleBuildings, restyleGrids} from './map.js';
import {renderButtons, renderGridSelection, renderSelection, showFailure} from './panel.js';

// --- selection ------------------------------------------------------------------------------

export function onBuildingClick(e) {
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

export function onGridClick(e) {
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
export function dropSelection() {
  const ids = Array.from(ed.selBuildings);
  ed.selBuildings.clear(); ed.partners = []; ed.targets = []; ed.from = [];
  return ids;
}

export function clearSelection() {
  ed.targetsAsked++;   // an answer still on its way is for a selection that is gone
  restyleBuildings(dropSelection());
  renderSelection();
}

/** The grids the selection may move to (and the overlapping footprints it must take along). */
export async function refreshTargets() {
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
