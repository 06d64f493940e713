// One case: each agency's status and history (GET /api/cases/<id>),
// again each time the site's cases change.
import {api, session, followCases, el, badge, formatDateTime, formatIsoDate,
  caseIdOfPage, alertIn} from './console.js';

const id = caseIdOfPage();
const mandateKinds = {Oral: 'oral', Written: 'écrit'};
document.getElementById('receipt-link').href = `/dossiers/${id}/recepisse`;
document.getElementById('opened').hidden =
  new URLSearchParams(window.location.search).get('ouvert') !== '1';

function fact(term, value) {
  return el('div', {}, el('dt', {text: term}), el('dd', {text: value}));
}

async function load() {
  const {status, data} = await api('GET', `/api/cases/${id}`);
  const error = document.getElementById('case-error');
  if (status !== 200) {
    alertIn(error, (data && data.message) || 'Le dossier ne peut pas être lu.');
    return;
  }
  alertIn(error, '');
  const c = data.case;
  document.title = `Dossier ${c.case_id} — console France services (relais)`;
  document.getElementById('title').textContent =
    `${c.case_type_label} : dossier ${c.case_id}`;
  document.getElementById('crumb').textContent = `Dossier ${c.case_id}`;
  document.getElementById('progress').replaceChildren(
    'État du dossier : ', badge(c.progress, c.progress_label));
  document.getElementById('facts').replaceChildren(
    fact('Citoyen', c.citizen),
    fact('Ouvert le', formatDateTime(c.opened_at_ms)),
    fact('Par', c.agent.name),
    fact('Mandat', c.mandate.kind
      ? `${mandateKinds[c.mandate.kind] || c.mandate.kind}, donné le ${formatIsoDate(c.mandate.date)}`
      : '—'),
    fact('Pièces jointes', c.attachments.length
      ? c.attachments.map((a) => a.name).join(', ') : 'aucune'),
    fact('Les organismes peuvent le recevoir jusqu’au', formatDateTime(c.expires_at_ms)));
  document.querySelector('#recipients tbody').replaceChildren(
    ...c.recipients.map((r) => el('tr', {'data-agency': r.id},
      el('th', {scope: 'row', text: r.label}),
      el('td', {}, badge(r.state, r.state_label)),
      el('td', {text: formatDateTime(r.updated_at_ms)}),
      el('td', {text: r.reason || '—'}))));
  document.querySelector('#history tbody').replaceChildren(
    ...c.history.map((h) => el('tr', {},
      el('td', {text: formatDateTime(h.at_ms)}),
      el('td', {text: h.recipient.label}),
      el('td', {}, badge(h.state, h.state_label)),
      el('td', {text: h.detail || '—'}))));
}

if (await session()) {
  await load();
  followCases(load, document.getElementById('live'));
}
