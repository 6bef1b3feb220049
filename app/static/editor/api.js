/* gridplan editor: talking to the editor API (CSRF token refreshed once when it has expired). */

import {cfg, ed} from './state.js';

// --- talking to the API ---------------------------------------------------------------------

function url(path, withDatum) {
  const u = cfg.api + path;
  return withDatum ? u + (u.includes('?') ? '&' : '?') + 'datum=' + encodeURIComponent(cfg.datum) : u;
}

/** One request to the editor API: `{status, data}`. A POST whose CSRF token has expired (the
 * page sat idle) gets a fresh token from the state and is sent once more. */
export async function request(method, path, body, withDatum, retried) {
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

export async function getJSON(path, withDatum) {
  const {status, data} = await request('GET', path, null, withDatum);
  if (status !== 200) throw new Error((data && data.error) || String(status));
  return data;
}
