// The site's cases: GET /api/cases with the filters, again each time the
// index changes (live updates).
import {api, session, followCases, el, badge, formatDateTime, alertIn}
  from './console.js';

const form = document.getElementById('filters');
const body = document.querySelector('#cases tbody');
const count = document.getElementById('count');
const error = document.getElementById('list-error');

let asked = 0;
async function load() {
  const mine = ++asked;
  const query = new URLSearchParams();
  if (form.state.value) query.set('state', form.state.value);
  const q = form.q.value.trim();
  if (q) query.set('q', q);
  const {status, data} = await api('GET', `/api/cases?${query}`);
  if (mine !== asked) return;  // a later request answers for the page
  if (status !== 200) {
    alertIn(error, (data && data.message) || 'La liste ne peut pas être lue.');
    return;
  }
  alertIn(error, '');
  const rows = data.cases.map((c) => el('tr', {'data-case': c.case_id},
    el('td', {}, el('a', {href: `/dossiers/${c.case_id}`, text: c.case_id,
      class: 'fr-link'})),
    el('td', {text: c.case_type_label}),
    el('td', {text: c.citizen}),
    el('td', {text: formatDateTime(c.opened_at_ms)}),
    el('td', {}, badge(c.progress, c.progress_label)),
    el('td', {}, el('ul', {class: 'relais-agencies'},
      ...c.recipients.map((r) => el('li', {'data-agency': r.id},
        el('span', {text: `${r.label} : `}), badge(r.state, r.state_label)))))));
  body.replaceChildren(...rows);
  count.textContent = data.cases.length === 0 ? 'Aucun dossier ne correspond.'
    : data.cases.length === 1 ? '1 dossier.' : `${data.cases.length} dossiers.`;
}

let typing = 0;
form.addEventListener('input', () => {
  clearTimeout(typing);
  typing = setTimeout(load, 300);
});
form.addEventListener('submit', (event) => { event.preventDefault(); load(); });

if (await session()) {
  await load();
  followCases(load, document.getElementById('live'));
}
