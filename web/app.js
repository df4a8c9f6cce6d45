// app.js - cprof serve's web pages: the stored profiles by service, one
// profile (its flame graph, top functions, search), a comparison of two
// ranges or two profiles, and a form that starts a profiling session.
// Everything comes from this server's own API; nothing is fetched from
// anywhere else.
'use strict';

const $ = (sel) => document.querySelector(sel);
const main = () => $('#main');

function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === 'text') e.textContent = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const k of kids) if (k != null) e.append(k);
  return e;
}

function status(text) { $('#status').textContent = text || ''; }

// fetch with the bearer token when this server wants one (asked once,
// kept for the tab's life)
async function api(path, opts = {}) {
  for (let attempt = 0; attempt < 2; attempt++) {
    const headers = Object.assign({}, opts.headers || {});
    const tok = sessionStorage.getItem('cprof-token');
    if (tok) headers.Authorization = 'Bearer ' + tok;
    const r = await fetch(path, Object.assign({}, opts, { headers }));
    if (r.status !== 401 || attempt) return r;
    await askToken();
  }
}

function askToken() {
  return new Promise((resolve) => {
    const d = $('#login');
    d.addEventListener('close', () => {
      sessionStorage.setItem('cprof-token', $('#token').value.trim());
      resolve();
    }, { once: true });
    d.showModal();
  });
}

async function json(path, opts) {
  const r = await api(path, opts);
  const body = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(body.error || ('HTTP ' + r.status));
  return body;
}

function fmtTime(ns) {
  return new Date(Number(BigInt(ns) / 1000000n)).toISOString().replace('T', ' ').slice(0, 19);
}

function fmtNum(n) { return Number(n).toLocaleString('en'); }

function showError(e) {
  main().replaceChildren(el('p', { class: 'error', text: String(e.message || e) }));
}

function nav(which) {
  for (const a of document.querySelectorAll('header nav a')) a.classList.remove('on');
  const a = $('#nav-' + which);
  if (a) a.classList.add('on');
}

// a flame graph SVG (with its script) shown in a frame of its own, drawn
// at the frame's width: put the frame in the page first (slot), then
// fetch the graph for its size
async function flameFrame(path, id, slot) {
  const f = el('iframe', { class: 'flame', id, title: 'flame graph' });
  slot.replaceChildren(f);
  const width = Math.max(400, Math.min(100000, f.clientWidth - 4));
  // minwidth=1: frames under a pixel merge on the server ("(N more)"), so
  // that a profile of 200k frames stays a few thousand elements here
  const r = await api(path + (path.includes('?') ? '&' : '?') + 'width=' + width + '&minwidth=1');
  if (!r.ok) {
    const b = await r.json().catch(() => ({}));
    throw new Error(b.error || ('HTTP ' + r.status));
  }
  const blob = new Blob([await r.text()], { type: 'image/svg+xml' });
  f.src = URL.createObjectURL(blob);
  await new Promise((resolve) => f.addEventListener('load', resolve, { once: true }));
  return f;
}

// ---- the list ----------------------------------------------------------

function strip(rows) {
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('class', 'strip');
  svg.setAttribute('viewBox', '0 0 1000 36');
  svg.setAttribute('preserveAspectRatio', 'none');
  if (!rows.length) return svg;
  const t = rows.map((r) => Number(BigInt(r.from_ns) / 1000000n));
  const lo = Math.min(...t), hi = Math.max(...t), span = Math.max(hi - lo, 1);
  const top = Math.max(...rows.map((r) => r.samples), 1);
  rows.forEach((r, i) => {
    const x = rows.length === 1 ? 500 : ((t[i] - lo) / span) * 990;
    const h = Math.max(2, (r.samples / top) * 34);
    const b = document.createElementNS(ns, 'rect');
    b.setAttribute('x', x.toFixed(1));
    b.setAttribute('y', (36 - h).toFixed(1));
    b.setAttribute('width', '8');
    b.setAttribute('height', h.toFixed(1));
    const tt = document.createElementNS(ns, 'title');
    tt.textContent = fmtTime(r.from_ns) + ': ' + fmtNum(r.samples) + ' samples';
    b.append(tt);
    svg.append(b);
  });
  return svg;
}

async function listPage() {
  nav('list');
  status('loading…');
  const { profiles } = await json('/api/v1/profiles?limit=1000');
  const by = new Map();
  for (const p of profiles) {
    if (!by.has(p.service)) by.set(p.service, []);
    by.get(p.service).push(p);
  }
  const out = [el('h2', { text: 'Stored profiles' })];
  if (!profiles.length)
    out.push(el('p', { class: 'muted', text: 'None yet: push some with cprof attach --every 60s --push URL --service NAME, or start a session.' }));
  for (const [svc, rows] of [...by.entries()].sort()) {
    const table = el('table', {},
      el('thead', {}, el('tr', {}, el('th', { text: 'from' }), el('th', { text: 'labels' }),
        el('th', { text: 'type' }), el('th', { class: 'num', text: 'samples' }), el('th', { text: '' }))));
    const tb = el('tbody');
    for (const r of rows.slice(0, 20))
      tb.append(el('tr', { class: 'profile-row', 'data-id': r.id },
        el('td', { text: fmtTime(r.from_ns) }), el('td', { text: r.labels }),
        el('td', { text: r.sample_type }), el('td', { class: 'num', text: fmtNum(r.samples) }),
        el('td', {}, el('a', { href: '#/profile/' + r.id, text: 'open' }))));
    table.append(tb);
    out.push(el('section', { class: 'service', 'data-service': svc },
      el('h3', { text: svc + ' (' + rows.length + ')' }), strip(rows.slice().reverse()), table));
  }
  main().replaceChildren(...out);
  status(profiles.length + ' profiles');
}

// ---- one profile -------------------------------------------------------

// [name, self, total] by self weight: the server's table over the whole
// profile ("top"), or for a profile.json stored before it had one, the
// pruned tree's self weights
function topFunctions(tree) {
  if (Array.isArray(tree.top)) return tree.top.map((t) => [t.name, t.self, t.total]);
  const self = new Map();
  const walk = (n) => {
    if (n.self) self.set(n.name, (self.get(n.name) || 0) + n.self);
    for (const k of n.children || []) walk(k);
  };
  walk(tree);
  return [...self.entries()].sort((a, b) => b[1] - a[1]).map(([n, v]) => [n, v, null]);
}

async function profilePage(id) {
  nav('');
  status('loading…');
  const row = await json('/api/v1/profiles/' + encodeURIComponent(id));
  const tree = await json('/api/v1/profiles/' + encodeURIComponent(id) + '/profile.json');
  const slot = el('div', { class: 'slot' });
  const tops = topFunctions(tree);
  const total = tree.value || 1;
  const tb = el('tbody');
  const fill = (q) => {
    tb.replaceChildren();
    const pct = (v) => (v === null ? '' : (100 * v / total).toFixed(2) + '%');
    for (const [name, v, all] of tops.filter(([n]) => !q || n.toLowerCase().includes(q)).slice(0, 100))
      tb.append(el('tr', { class: 'top-row' }, el('td', { text: name }),
        el('td', { class: 'num', text: pct(v) }), el('td', { class: 'num', text: pct(all) })));
  };
  fill('');
  const search = el('input', { type: 'search', id: 'search', placeholder: 'search functions' });
  search.addEventListener('input', () => fill(search.value.trim().toLowerCase()));
  main().replaceChildren(
    el('h2', { text: row.service + ' · ' + fmtTime(row.from_ns) }),
    el('p', { class: 'muted', text: [row.labels, row.sample_type, fmtNum(row.samples) + ' samples',
      row.host].filter(Boolean).join(' · ') }),
    el('p', {}, el('a', { href: '/api/v1/profiles/' + id + '/profile.pb.gz', text: 'pprof' }), ' · ',
      el('a', { href: '#/compare?target_id=' + id, text: 'compare with…' })),
    el('div', { class: 'cols' }, slot,
      el('div', {}, search, el('table', { id: 'top' },
        el('thead', {}, el('tr', {}, el('th', { text: 'function' }), el('th', { class: 'num', text: 'self' }),
          el('th', { class: 'num', text: 'total' }))), tb))));
  await flameFrame('/api/v1/profiles/' + encodeURIComponent(id) + '/flame.svg', 'flame', slot);
  status('');
}

// ---- compare -------------------------------------------------------------

async function comparePage(params) {
  nav('compare');
  const f = el('form', { class: 'inline', id: 'compare-form' });
  const field = (name, label, value) => el('label', {}, label,
    el('input', { name, id: 'cmp-' + name, value: params.get(name) || value || '' }));
  f.append(field('service', 'service', ''), field('base', 'base range', '-2h..-1h'),
    field('target', 'target range', '-1h..now'), field('base_id', 'or base profile', ''),
    field('target_id', 'and target profile', ''), el('button', { type: 'submit', text: 'Compare' }));
  const out = el('div', { id: 'compare-out' });
  f.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const q = new URLSearchParams();
    for (const [k, v] of new FormData(f)) if (v) q.set(k, v);
    if (q.get('base_id') && q.get('target_id')) { q.delete('base'); q.delete('target'); }
    out.replaceChildren(el('p', { class: 'muted', text: 'comparing…' }));
    try {
      await flameFrame('/api/v1/diff?' + q.toString(), 'diff', out);
    } catch (e) {
      out.replaceChildren(el('p', { class: 'error', text: e.message }));
    }
  });
  main().replaceChildren(el('h2', { text: 'Compare' }),
    el('p', { class: 'muted', text: 'Ranges are unix seconds, now or -N[smhd] (FROM..UNTIL); the base is scaled to the target. Red grew, blue shrank, hatched vanished.' }),
    f, out);
  if (params.get('base_id') && params.get('target_id')) f.requestSubmit();
}

// ---- a new session ---------------------------------------------------------

async function sessionPage() {
  nav('session');
  const f = el('form', { class: 'inline', id: 'session-form' },
    el('label', {}, 'pid', el('input', { name: 'pid', id: 'sess-pid', size: 8, required: '' })),
    el('label', {}, 'seconds', el('input', { name: 'duration', id: 'sess-duration', value: '10', size: 5 })),
    el('label', {}, 'Hz', el('input', { name: 'frequency', id: 'sess-frequency', value: '99', size: 5 })),
    el('label', {}, 'service', el('input', { name: 'service', id: 'sess-service', value: 'session' })),
    el('button', { type: 'submit', id: 'sess-start', text: 'Start' }));
  const out = el('div', { id: 'session-out' });
  f.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const d = Object.fromEntries(new FormData(f));
    const body = { pid: Number(d.pid), duration: Number(d.duration), frequency: Number(d.frequency) };
    if (d.service) body.service = d.service;
    try {
      let s = await json('/api/v1/sessions', { method: 'POST', body: JSON.stringify(body) });
      const line = el('p', { id: 'session-state' });
      out.replaceChildren(line);
      for (;;) {
        line.textContent = 'session ' + s.id + ': ' + s.state + ', ' + fmtNum(s.samples) + ' samples' +
          (s.state === 'running' ? ', ' + s.ends_in.toFixed(1) + ' s left' : '');
        if (s.profile_id) {
          out.append(el('p', { id: 'session-landed' }, 'Stored: ',
            el('a', { href: '#/profile/' + s.profile_id, text: s.profile_id })));
          break;
        }
        if (s.state === 'failed' || s.store_error || (s.state === 'done' && !s.service)) break;
        await new Promise((r) => setTimeout(r, 500));
        s = await json('/api/v1/sessions/' + s.id);
      }
    } catch (e) {
      out.replaceChildren(el('p', { class: 'error', text: e.message }));
    }
  });
  main().replaceChildren(el('h2', { text: 'New profiling session' }),
    el('p', { class: 'muted', text: 'Samples a running process on this machine and keeps the result in the store.' }),
    f, out);
}

// ---- routing ---------------------------------------------------------------

async function route() {
  const h = location.hash.replace(/^#/, '') || '/';
  const [path, query] = h.split('?');
  const params = new URLSearchParams(query || '');
  try {
    if (path.startsWith('/profile/')) await profilePage(decodeURIComponent(path.slice(9)));
    else if (path === '/compare') await comparePage(params);
    else if (path === '/session') await sessionPage();
    else await listPage();
  } catch (e) {
    status('');
    showError(e);
  }
}

window.addEventListener('hashchange', route);
route();
