// What every page of the console shares: the JSON API (docs/CONSOLE.md)
// with the session's CSRF token, the header's agent and sign-out, the live
// updates, and French dates. No framework: the French State design system
// (/dsfr/) gives the look, these modules the behaviour.

let csrf = '';

// The API's answer to `method path` with `body` (sent as JSON): {status,
// data}. A 401 on a page that needs a session goes back to the sign-in.
export async function api(method, path, body) {
  const init = {method, headers: {}, credentials: 'same-origin'};
  if (method !== 'GET') init.headers['X-CSRF-Token'] = csrf;
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (e) {
    return {status: 0, data: {code: 'network', message:
      'La console ne répond pas. Vérifiez la connexion, puis réessayez.'}};
  }
  let data = null;
  if (response.status !== 204) {
    try { data = await response.json(); } catch (e) { data = null; }
  }
  if (response.status === 401 && path !== '/api/session') {
    window.location.assign('/connexion');
  }
  return {status: response.status, data};
}

// The signed-in agent ({agent, site_name, csrf}); fills the header and
// wires the sign-out button. Goes to the sign-in page without a session.
export async function session() {
  const {status, data} = await api('GET', '/api/session');
  if (status !== 200) {
    window.location.assign('/connexion');
    return null;
  }
  csrf = data.csrf;
  const name = document.getElementById('agent-name');
  if (name) name.textContent = `${data.agent.name} — ${data.site_name}`;
  const out = document.getElementById('sign-out');
  if (out) {
    out.addEventListener('click', async () => {
      await api('DELETE', '/api/session');
      window.location.assign('/connexion');
    });
  }
  return data;
}

// Calls `onChange` each time the site's cases change (server-sent events
// from /api/events), and once a minute in any case; says so in `status`
// (an element with aria-live) when the live link is lost.
export function followCases(onChange, status) {
  let timer = 0;
  const later = () => {
    clearTimeout(timer);
    timer = setTimeout(onChange, 150);
  };
  const events = new EventSource('/api/events');
  events.addEventListener('cases', later);
  events.addEventListener('open', () => {
    if (status) status.textContent = 'Mise à jour en direct.';
  });
  events.addEventListener('error', () => {
    if (status) {
      status.textContent =
        'Mise à jour en direct interrompue : nouvel essai dans quelques secondes.';
    }
  });
  setInterval(onChange, 60000);
  return events;
}

const dateTime = new Intl.DateTimeFormat('fr-FR', {
  dateStyle: 'long', timeStyle: 'short', timeZone: 'Europe/Paris'});
const dateOnly = new Intl.DateTimeFormat('fr-FR', {
  dateStyle: 'long', timeZone: 'Europe/Paris'});

export function formatDateTime(ms) {
  return ms ? dateTime.format(new Date(ms)) : '—';
}
export function formatDate(ms) {
  return ms ? dateOnly.format(new Date(ms)) : '—';
}
// "2026-12-01" as "1 décembre 2026".
export function formatIsoDate(text) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text || '');
  if (!m) return text || '—';
  return new Intl.DateTimeFormat('fr-FR', {dateStyle: 'long', timeZone: 'UTC'})
    .format(new Date(Date.UTC(+m[1], +m[2] - 1, +m[3])));
}

// An element `tag` with `attrs` (class, text, and attributes) and
// children: the pages never put text they received into HTML.
export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') e.className = value;
    else if (key === 'text') e.textContent = value;
    else e.setAttribute(key, value === true ? '' : value);
  }
  for (const child of children) {
    if (child !== null && child !== undefined) e.append(child);
  }
  return e;
}

// The design system's badge for a recipient's state or a case's progress.
const badgeClass = {
  Sent: 'fr-badge--new', Delivered: 'fr-badge--info',
  Received: 'fr-badge--info', InProgress: 'fr-badge--info',
  Done: 'fr-badge--success', Rejected: 'fr-badge--error',
  Expired: 'fr-badge--warning',
  waiting: 'fr-badge--new', in_progress: 'fr-badge--info',
  done: 'fr-badge--success', rejected: 'fr-badge--error',
  expired: 'fr-badge--warning',
};
export function badge(state, label) {
  return el('p', {class: `fr-badge fr-badge--sm ${badgeClass[state] || ''}`,
    text: label, 'data-state': state});
}

// The case id in the page's address (/dossiers/<id>[/recepisse]).
export function caseIdOfPage() {
  const m = /^\/dossiers\/([A-Za-z0-9_-]{1,64})/.exec(window.location.pathname);
  return m ? m[1] : '';
}

// Shows `message` in the alert `box` (an element with role=alert), or
// hides it when `message` is empty.
export function alertIn(box, message) {
  box.hidden = !message;
  const text = box.querySelector('.fr-alert__text') || box;
  text.textContent = message || '';
}
