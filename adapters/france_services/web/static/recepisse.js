// The citizen's receipt (récépissé): printable, from GET /api/cases/<id>.
import {api, session, el, formatDateTime, caseIdOfPage, alertIn}
  from './console.js';

const id = caseIdOfPage();
document.getElementById('back-link').href = `/dossiers/${id}`;
document.getElementById('print').addEventListener('click', () => window.print());

function fact(term, value) {
  return el('div', {}, el('dt', {text: term}), el('dd', {text: value}));
}

const me = await session();
if (me) {
  const {status, data} = await api('GET', `/api/cases/${id}`);
  if (status !== 200) {
    alertIn(document.getElementById('receipt-error'),
      (data && data.message) || 'Le dossier ne peut pas être lu.');
  } else {
    const c = data.case;
    document.title = `Récépissé du dossier ${c.case_id} — relais`;
    document.getElementById('facts').replaceChildren(
      fact('Numéro de dossier', c.case_id),
      fact('Démarche', c.case_type_label),
      fact('Au nom de', c.citizen),
      fact('Déposé le', formatDateTime(c.opened_at_ms)),
      fact('Espace France services', me.site_name),
      fact('Agent', c.agent.name),
      fact('Documents remis', c.attachments.length
        ? c.attachments.map((a) => a.name).join(', ') : 'aucun'));
    document.getElementById('agencies').replaceChildren(
      ...c.recipients.map((r) => el('li', {text: r.label})));
  }
}
