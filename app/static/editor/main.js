/* gridplan: the planner's editor page (app/templates/editor.html) over the editor API
 * (docs/editor.md). ES modules, no build step, Leaflet 1.9 (the page's folium map); this module
 * wires the page and starts it:
 *   state.js (config, session, helpers) · api.js (requests) · map.js (drawing) ·
 *   selection.js · operations.js · versions.js (saving, restoring) · panel.js.
 * A click on a building toggles it in the selection, a click on a grid selects the grid
 * (Ctrl/Shift-click adds one). */

import {$, ed} from './state.js';
import {getJSON} from './api.js';
import {loadAll} from './map.js';
import {clearSelection} from './selection.js';
import {hideProposal, lockToggle, move, operate, rejectProposal, split} from './operations.js';
import {loadVersions, reloadAndReapply, save} from './versions.js';
import {focusGrid, info, renderButtons, renderFigures, renderGridSelection, showAlert} from './panel.js';

const LATEST_POLL_MS = 60000;  // how often the page asks whether someone saved a newer version

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
