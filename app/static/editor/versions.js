/* gridplan editor: saving a version, reloading after a conflict, restoring, the version list. */

import {$, cfg, ed, el, t} from './state.js';
import {getJSON, request} from './api.js';
import {loadAll} from './map.js';
import {clearAlert, info, movedText, renderAll, setBusy, setState, showFailure} from './panel.js';

// --- saving and versions --------------------------------------------------------------------

export async function save() {
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

export async function reloadAndReapply() {
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

export async function loadVersions() {
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
