/* gridplan editor: the edit operations (move, split, merge, lock, rerun, undo, redo). Each posts
 * to /edit/<op>; its answer replaces only the changed grids' polygons, recolours the buildings it
 * lists and refreshes the panel. A refused edit (422) shows the server's reason and changes nothing. */

import {$, ed, t} from './state.js';
import {request} from './api.js';
import {loadAll, placeLabel, putGrid, removeGrid, restyleBuildings, restyleGrids, setBuildingGrid} from './map.js';
import {dropSelection, refreshTargets} from './selection.js';
import {clearAlert, gridName, info, renderAll, renderChanges, renderGridSelection, setBusy, setState, showAlert, showFailure} from './panel.js';

// --- operations -----------------------------------------------------------------------------

/** Post operation `op`; on success redraw what it changed. Returns the answer, or null when refused. */
export async function operate(op, body) {
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

export async function move() {
  const target = $('ed-target').value;
  if (!ed.selBuildings.size || !target) return;
  await operate('move', {buildings: Array.from(ed.selBuildings), to_grid: target});
}

/** Split `grid`: seed 0 the engine's cut, seed k the k-th other cut; shown for Accept / Reject / Another cut. */
export async function split(grid, seed) {
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
  $('ed-proposal-text').textContent = t('editor_proposal', {a: a.number, na: a.households,
    b: b.number, nb: b.households});
  $('ed-proposal').hidden = false;
}

export function hideProposal() { ed.proposal = null; $('ed-proposal').hidden = true; }

/** Reject the proposed cut (undo it); with `another`, show the server's next other cut (split
 * with the next seed: a new cut each time, best first, until the server says there is none). */
export async function rejectProposal(another) {
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

export async function lockToggle() {
  const allLocked = ed.selGrids.every((g) => (ed.rows.get(g) || {}).locked);
  await operate(allLocked ? 'unlock' : 'lock', {grids: ed.selGrids.slice()});
}
