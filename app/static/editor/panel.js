/* gridplan editor: the side panel, its messages and buttons. Everything that comes from the
 * server or the user is inserted as text (textContent), never as HTML; grids are named by the
 * number the server sends, buildings by their name or address. */

import {$, cfg, ed, el, map, statusText, t} from './state.js';
import {restyleGrids} from './map.js';

// --- messages -------------------------------------------------------------------------------

export function showAlert(prefixKey, message) {
  const box = $('ed-alert');
  box.replaceChildren(el('strong', {text: t(prefixKey)}), document.createTextNode(message));
  box.hidden = false;
}

/** A failed request's message: refused (422, with the server's reason) or failed. */
export function showFailure(status, data) {
  showAlert(status === 422 ? 'editor_refused' : 'editor_failed', (data && data.error) || String(status));
}

export function clearAlert() { $('ed-alert').hidden = true; $('ed-alert').replaceChildren(); }

export function info(message) { $('ed-info').textContent = message; }

export function setBusy(busy) {
  ed.busy = busy;
  $('ed-panel').setAttribute('aria-busy', busy || ed.hold ? 'true' : 'false');
  if (busy) info(t('editor_working'));
  renderButtons();
}

// --- the panel ------------------------------------------------------------------------------

export function setState(state) {
  ed.state = state;
  ed.rows = new Map(state.grids.map((g) => [g.grid_id, g]));
}

export function renderAll() {
  renderFigures();
  renderSelection();
  renderGridSelection();
  renderWarnings();
  renderButtons();
}

export function renderFigures() {
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
export function movedText(m) {
  const from = m.from_number || '–', to = m.to_number || '–';
  const name = m.name || t('building_in_grid', {grid: to, no: m.number});
  return `${name} (${from} → ${to})`;
}

/** A grid as people know it: its number from the server (partitioning.codes.short_code), never its id. */
export function gridName(id) {
  const row = ed.rows.get(id);
  return row ? row.number : '–';
}

/** Buildings as people know them: names or addresses where the data has them, else how many. */
function buildingNames(ids) {
  const named = ids.filter((b) => ed.names.has(b)).map((b) => ed.names.get(b));
  const others = ids.length - named.length;
  if (others) named.push(t('editor_sel_summary', {n: others, hh: ids.filter((b) => !ed.names.has(b))
    .reduce((sum, b) => sum + (ed.households.get(b) || 0), 0)}));
  return named.join(cfg.lang === 'zh' ? '、' : ', ');
}

export function renderSelection() {
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
    disabled: g.locked, text: `${gridName(g.grid_id)} (${t('households')} ${g.households})` +
      (g.locked ? ' · ' + t('editor_locked') : '')}));
  if (ids.length && !ed.targets.length) options.push(el('option', {value: '', text: t('editor_no_targets')}));
  select.replaceChildren(...options);
  if (ed.targets.some((g) => g.grid_id === keep && !g.locked)) select.value = keep;
  else select.value = (ed.targets.find((g) => !g.locked) || {grid_id: ''}).grid_id;
  renderButtons();
}

export function renderGridSelection() {
  const body = $('ed-grid-table').tBodies[0];
  body.replaceChildren(...ed.selGrids.filter((g) => ed.rows.has(g)).map((g) => {
    const r = ed.rows.get(g);
    const link = el('a', {href: cfg.grid_url.replace('__CODE__', encodeURIComponent(r.grid_code)),
      target: '_blank', rel: 'noopener', title: t('editor_open_grid'), text: r.number});
    return el('tr', {'data-grid': g, class: r.status !== 'ok' ? 'ed-flagged' : null},
      el('td', {}, link), el('td', {class: 'num ed-hh', text: r.households}),
      el('td', {class: 'num', text: r.n_buildings}), el('td', {text: statusText(r.status), title: r.why || null}),
      el('td', {text: r.locked ? t('editor_yes') : t('editor_no')}));
  }));
  const allLocked = ed.selGrids.length && ed.selGrids.every((g) => (ed.rows.get(g) || {}).locked);
  $('ed-lock').textContent = allLocked ? t('editor_unlock') : t('editor_lock');
  renderButtons();
}

export function renderChanges(before, changed, removed, numbers) {
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
      el('a', {href: '#', text: `${r.number}: ${t('households')} ${r.households} · ${statusText(r.status)}` +
        (r.why ? ` · ${r.why}` : ''),
        onclick: (e) => { e.preventDefault(); focusGrid(id); }})));
  }
  $('ed-warnings').querySelector('summary').textContent = t('editor_warnings', {n: items.length});
  $('ed-warnings').querySelector('ul').replaceChildren(...items);
}

export function focusGrid(id) {
  const layer = ed.gridLayers.get(id);
  if (!layer) return;
  map.fitBounds(layer.getBounds(), {maxZoom: 19, padding: [30, 30]});
  const before = ed.selGrids;
  ed.selGrids = [id];
  restyleGrids(new Set(before.concat([id])));
  renderGridSelection();
}

export function renderButtons() {
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
