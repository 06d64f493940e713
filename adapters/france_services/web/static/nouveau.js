// Opening a case in four steps: the life event; the citizen and the
// event's fields, checked by the server as they are typed (POST
// /api/cases/check); the mandate, objections and recipients; then who
// receives what, and the sending (POST /api/cases, once per form: the
// request id is kept across a double click or a reload).
import {api, session, el, alertIn, formatIsoDate} from './console.js';
import {forms, objections, agencies} from './case_forms.js';

const stepNames = ['La démarche', 'Le citoyen et la démarche',
  'Le mandat, les oppositions et les destinataires',
  'Vérification et envoi'];
const form = document.getElementById('case-form');
const errorBox = document.getElementById('form-error');
const problemList = document.getElementById('form-problems');
const nextButton = document.getElementById('next');
const backButton = document.getElementById('back');

let step = 1;
let caseType = '';
let limits = {attachments: 10, attachments_bytes: 768 * 1024};
let attachments = [];   // [{name, media_type, content_base64, bytes}]
let typeLabels = {};
let lastCheck = null;   // the last answer of /api/cases/check
let checks = 0;         // to drop the answers of older checks
const touched = new Set();  // fields the agent has left or changed

// The request id of this form: kept in the tab across a reload, new for a
// new form.
const reloaded = performance.getEntriesByType('navigation')[0]?.type === 'reload';
function newRequestId() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}
let requestId = reloaded && sessionStorage.getItem('relais.request') || newRequestId();
sessionStorage.setItem('relais.request', requestId);

const idOf = (f) => `f-${f.path.replace(/\//g, '-')}`;
const pointerOf = (f) => `/body/${f.path}`;

function sections() {
  return (forms[caseType] || []).concat(
    objections[caseType] ? [{fields: objections[caseType], objection: true}] : []);
}
function allFields() {
  return sections().flatMap((s) => s.fields.map((f) => ({...f, section: s})));
}

// ---- the form's fields ----

function fieldInput(f) {
  const id = idOf(f);
  const described = `${id}-error${f.hint ? ` ${id}-hint` : ''}`;
  const common = {id, name: f.path, 'aria-describedby': described,
    'data-path': f.path, autocomplete: f.autocomplete || 'off',
    inputmode: f.inputmode};
  if (f.type === 'select') {
    return el('select', {...common, class: 'fr-select'},
      el('option', {value: '', text: 'Choisir', selected: true}),
      ...f.options.map(([value, text]) => el('option', {value, text})));
  }
  if (f.type === 'textarea' || f.type === 'lines') {
    return el('textarea', {...common, class: 'fr-input', rows: f.type === 'lines' ? 2 : 4});
  }
  const type = f.type === 'date' ? 'date' : f.type === 'email' ? 'email' : 'text';
  return el('input', {...common, class: 'fr-input', type,
    inputmode: f.inputmode || (['number', 'euros', 'decimal'].includes(f.type)
      ? 'decimal' : undefined)});
}

function fieldGroup(f) {
  const id = idOf(f);
  if (f.type === 'checkbox') {
    return el('div', {class: 'fr-checkbox-group', id: `${id}-group`},
      el('input', {type: 'checkbox', id, name: f.path, 'data-path': f.path,
        'aria-describedby': `${id}-error`}),
      el('label', {class: 'fr-label', for: id, text: f.label}),
      el('p', {class: 'fr-error-text', id: `${id}-error`, hidden: true}));
  }
  const isSelect = f.type === 'select';
  return el('div', {class: isSelect ? 'fr-select-group' : 'fr-input-group',
    id: `${id}-group`},
    el('label', {class: 'fr-label', for: id},
      `${f.label}${f.optional ? ' (facultatif)' : ''}`,
      f.hint ? el('span', {class: 'fr-hint-text', id: `${id}-hint`, text: f.hint})
        : null),
    fieldInput(f),
    el('p', {class: 'fr-error-text', id: `${id}-error`, hidden: true}));
}

function renderFields() {
  const box = document.getElementById('event-fields');
  box.replaceChildren(...(forms[caseType] || []).map((s, i) => el('fieldset',
    {class: 'fr-fieldset', 'aria-labelledby': `legend-${i}`},
    el('legend', {class: 'fr-fieldset__legend', id: `legend-${i}`, text: s.legend}),
    ...s.fields.map((f) => el('div', {class: 'fr-fieldset__element'},
      fieldGroup(f)))))); 
  const objectionBox = document.getElementById('objections');
  const mine = objections[caseType] || [];
  objectionBox.replaceChildren(...(mine.length ? mine.map(fieldGroup)
    : [el('p', {text: 'Cette démarche ne prévoit pas d’opposition.'})]));
  touched.clear();
  lastCheck = null;
}

// ---- the event from the form ----

function valueOf(f) {
  const input = document.getElementById(idOf(f));
  if (!input) return undefined;
  if (f.type === 'checkbox') return input.checked;
  const raw = input.value.trim();
  if (raw === '') return undefined;
  const decimal = raw.replace(/\s/g, '').replace(',', '.');
  switch (f.type) {
    case 'names':
      return raw.split(',').map((s) => s.trim()).filter((s) => s);
    case 'lines':
      return raw.split('\n').map((s) => s.trim()).filter((s) => s);
    case 'number':
      return /^-?\d+$/.test(decimal) ? Number(decimal) : raw;
    case 'decimal':
      return /^\d+(\.\d+)?$/.test(decimal) ? Number(decimal) : raw;
    case 'euros':
      return /^\d+(\.\d{1,2})?$/.test(decimal)
        ? Math.round(Number(decimal) * 100) : raw;
    case 'select':
      return f.number ? Number(raw) : raw;
    default:
      return raw;
  }
}

function setAt(target, path, value) {
  const keys = path.split('/');
  let at = target;
  keys.forEach((key, i) => {
    if (i === keys.length - 1) {
      at[key] = value;
      return;
    }
    if (at[key] === undefined) at[key] = /^\d+$/.test(keys[i + 1]) ? [] : {};
    at = at[key];
  });
}

// The event ({body_type, body}) and where each reference went
// (/body/references/N -> its field).
function buildEvent() {
  const body = {};
  const references = [];
  const referenceFields = [];
  for (const f of allFields()) {
    const value = valueOf(f);
    if (value === undefined || value === '') continue;
    if (f.section.references) {
      references.push({agency: f.agency, identifier: value});
      referenceFields.push(f);
      continue;
    }
    setAt(body, f.path, value);
  }
  for (const [key, value] of Object.entries(body)) {
    if (Array.isArray(value)) body[key] = value.filter((v) => v !== undefined);
  }
  if (references.length) body.references = references;
  return {event: {body_type: caseType, body}, referenceFields};
}

// ---- the attachments ----

// What a file's first bytes say it is (the server checks the same).
function sniff(bytes) {
  const starts = (...b) => b.every((v, i) => bytes[i] === v);
  if (starts(0x25, 0x50, 0x44, 0x46, 0x2d)) return 'application/pdf';
  if (starts(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)) return 'image/png';
  if (starts(0xff, 0xd8, 0xff)) return 'image/jpeg';
  return '';
}

function base64(bytes) {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

const sizeText = (n) => n < 1024 ? `${n} octets`
  : `${(n / 1024).toFixed(n < 10240 ? 1 : 0).replace('.', ',')} Kio`;

function attachmentError(message) {
  const group = document.getElementById('attachments-group');
  const input = document.getElementById('attachments');
  const error = document.getElementById('attachments-error');
  group.classList.toggle('fr-upload-group--error', !!message);
  input.setAttribute('aria-invalid', message ? 'true' : 'false');
  error.hidden = !message;
  error.textContent = message || '';
}

// The files chosen, each checked as the server will: its type by its
// first bytes (a renamed file is refused), their count and total size.
async function readAttachments(files) {
  const chosen = [];
  let total = 0;
  if (files.length > limits.attachments) {
    return {error: `${limits.attachments} pièces jointes au plus.`};
  }
  for (const [i, file] of [...files].entries()) {
    const bytes = new Uint8Array(await file.arrayBuffer());
    const type = sniff(bytes);
    const which = `« ${file.name} »`;
    if (bytes.length === 0) return {error: `${which} est vide.`};
    if (!type) {
      return {error: `${which} n’est pas un document PDF ni une image PNG ou ` +
        'JPEG : son contenu ne correspond pas (un fichier renommé est refusé).'};
    }
    if (file.name.length > 100 || file.name.startsWith('.') || /[/\\]/.test(file.name)) {
      return {error: `Le nom de la pièce jointe n° ${i + 1} ne convient pas : ` +
        'renommez le fichier (100 caractères au plus).'};
    }
    total += bytes.length;
    if (total > limits.attachments_bytes) {
      return {error: `Les pièces jointes dépassent ${sizeText(limits.attachments_bytes)} ` +
        'au total : retirez-en ou réduisez-les.'};
    }
    chosen.push({name: file.name, media_type: type,
      content_base64: base64(bytes), bytes: bytes.length});
  }
  return {chosen};
}

document.getElementById('attachments').addEventListener('change', async (event) => {
  const {chosen, error} = await readAttachments(event.target.files);
  attachments = chosen || [];
  attachmentError(error);
  if (error) event.target.value = '';
  document.getElementById('attachment-list').replaceChildren(
    ...attachments.map((a) => el('li', {text: `${a.name} (${sizeText(a.bytes)})`})));
});

function request() {
  const {event, referenceFields} = buildEvent();
  const out = {event, mandate: {
    kind: form.mandate_kind.value, date: form.mandate_date.value}};
  if (form.route.value === 'chosen') {
    out.recipients = [...document.querySelectorAll('[name=agency]:checked')]
      .map((c) => c.value);
  }
  return {out, referenceFields};
}

// ---- checks ----

// The field a problem's JSON pointer is about: the field itself, the field
// holding it (an item of a list), or the first field of a missing object.
function fieldOfProblem(pointer, referenceFields) {
  const fields = allFields().filter((f) => !f.section.references);
  const match = fields.find((f) => pointerOf(f) === pointer) ||
    fields.find((f) => pointer.startsWith(`${pointerOf(f)}/`)) ||
    fields.find((f) => pointerOf(f).startsWith(`${pointer}/`));
  if (match) return match;
  const ref = /^\/body\/references\/(\d+)/.exec(pointer);
  return ref ? referenceFields[+ref[1]] : undefined;
}

function showFieldError(f, message) {
  const id = idOf(f);
  const group = document.getElementById(`${id}-group`);
  const input = document.getElementById(id);
  const error = document.getElementById(`${id}-error`);
  if (!group) return;
  const kind = f.type === 'checkbox' ? 'fr-checkbox-group--error'
    : f.type === 'select' ? 'fr-select-group--error' : 'fr-input-group--error';
  group.classList.toggle(kind, !!message);
  if (f.type !== 'checkbox') {
    input.classList.toggle(f.type === 'select' ? 'fr-select--error'
      : 'fr-input--error', !!message);
  }
  input.setAttribute('aria-invalid', message ? 'true' : 'false');
  error.hidden = !message;
  error.textContent = message || '';
}

// Shows the last check's problems on the fields the agent touched (all
// of them with `everything`); returns the problems not tied to a field.
function showProblems(everything) {
  const byField = new Map();
  const loose = [];
  const problems = lastCheck?.problems || [];
  for (const p of problems) {
    const f = fieldOfProblem(p.field, lastCheck.referenceFields);
    if (!f) { loose.push(p); continue; }
    if (!byField.has(idOf(f))) byField.set(idOf(f), p.message);
  }
  for (const f of allFields()) {
    const id = idOf(f);
    if (everything) touched.add(id);
    showFieldError(f, touched.has(id) ? byField.get(id) : '');
  }
  return {count: problems.length, loose, byField};
}

async function check() {
  const mine = ++checks;
  const {out, referenceFields} = request();
  const {status, data} = await api('POST', '/api/cases/check', out);
  if (mine !== checks) return null;
  lastCheck = status === 200 ? {...data, referenceFields} : {problems: [],
    referenceFields, refusal: (data && data.message) ||
      'La vérification n’a pas pu se faire. Réessayez.'};
  return lastCheck;
}

let typing = 0;
form.addEventListener('input', (event) => {
  const path = event.target.dataset?.path;
  if (!path || step !== 2 && step !== 3) return;
  touched.add(event.target.id);
  clearTimeout(typing);
  typing = setTimeout(async () => {
    if (await check()) showProblems(false);
  }, 400);
});
form.addEventListener('focusout', (event) => {
  if (event.target.dataset?.path && event.target.value) {
    touched.add(event.target.id);
    if (lastCheck) showProblems(false);
  }
});

// ---- the steps ----

function fail(message, problems = []) {
  errorBox.querySelector('.fr-alert__text').textContent = message;
  problemList.replaceChildren(...problems.map((p) => el('li', {text: p})));
  errorBox.hidden = false;
  errorBox.focus();
}

function show(n) {
  step = n;
  for (const s of form.querySelectorAll('[data-step]')) {
    s.hidden = Number(s.dataset.step) !== n;
  }
  document.getElementById('steps').setAttribute('data-fr-current-step', n);
  document.getElementById('step-name').textContent = stepNames[n - 1];
  document.getElementById('step-state').textContent = `Étape ${n} sur 4`;
  const next = document.getElementById('step-next');
  next.hidden = n === 4;
  document.getElementById('step-next-name').textContent = stepNames[n] || '';
  backButton.parentElement.hidden = n === 1;
  nextButton.textContent = n === 4 ? 'Envoyer le dossier' : 'Étape suivante';
  document.getElementById('step-title').focus();
}

function fieldLabels() {
  const labels = new Map();
  for (const f of allFields()) labels.set(pointerOf(f), f);
  return labels;
}

// "caf: Mme MARTIN ..." : a recipient's view, field by field.
function viewList(body) {
  const labels = fieldLabels();
  const rows = [];
  const referenceLabels = Object.fromEntries(allFields()
    .filter((f) => f.section.references).map((f) => [f.agency, f.label]));
  const walk = (value, pointer) => {
    if (pointer === '/body/references' && Array.isArray(value)) {
      for (const r of value) {
        rows.push(el('div', {class: 'relais-view-row'},
          el('dt', {text: referenceLabels[r.agency] || `Numéro (${r.agency})`}),
          el('dd', {text: r.scope ? `${r.identifier} (${r.scope})` : r.identifier})));
      }
    } else if (Array.isArray(value) && value.some((v) => typeof v === 'object')) {
      value.forEach((v, i) => walk(v, `${pointer}/${i}`));
    } else if (value && typeof value === 'object' && !Array.isArray(value)) {
      for (const [k, v] of Object.entries(value)) walk(v, `${pointer}/${k}`);
    } else {
      const f = labels.get(pointer) || labels.get(pointer.replace(/\/\d+(?=\/|$)/, '/0'));
      let text = Array.isArray(value) ? value.join(', ') : String(value);
      if (typeof value === 'boolean') text = value ? 'Oui' : 'Non';
      if (f?.type === 'date') text = formatIsoDate(value);
      if (f?.options) text = (f.options.find(([v]) => String(v) === String(value)) || [])[1] || text;
      if (f?.type === 'euros') text = `${(value / 100).toFixed(2).replace('.', ',')} €`;
      const name = f ? f.label : pointer.replace(/^\/body\//, '').replace(/\//g, ' › ');
      rows.push(el('div', {class: 'relais-view-row'}, el('dt', {text: name}),
        el('dd', {text})));
    }
  };
  walk(body, '/body');
  return el('dl', {class: 'relais-view'}, ...rows);
}

function renderReview(c) {
  const names = Object.fromEntries(agencies);
  const why = c.by_subscription
    ? 'désigné par relais : cet organisme suit déjà ce citoyen (abonnement)'
    : 'choisi par vous';
  const review = document.getElementById('review');
  review.replaceChildren(
    el('h3', {text: `${typeLabels[caseType]} : qui reçoit quoi`}),
    el('p', {text: 'Chaque organisme ne reçoit que les informations dont il a besoin pour cette démarche.'}),
    attachments.length
      ? el('p', {id: 'review-attachments',
        text: `Pièces jointes, pour chaque organisme : ${attachments.map((a) => a.name).join(', ')}.`})
      : null,
    ...c.recipients.map((r) => {
      const view = c.views.find((v) => v.recipients.includes(r.id));
      return el('section', {class: 'relais-recipient fr-p-3w fr-mb-2w',
        'data-agency': r.id, 'aria-labelledby': `recipient-${r.id}`},
      el('h4', {class: 'fr-h5 fr-mb-1w', id: `recipient-${r.id}`,
        text: names[r.id] || r.label}),
      el('p', {class: 'fr-text--sm fr-mb-1w', text: `Pourquoi : ${why}.`}),
      view ? viewList(view.event.body) : null);
    }));
}

async function next() {
  errorBox.hidden = true;
  if (step === 1) {
    const chosen = form.querySelector('[name=case_type]:checked');
    if (!chosen) {
      fail('Choisissez l’événement de vie du citoyen.');
      return;
    }
    if (chosen.value !== caseType) {
      caseType = chosen.value;
      renderFields();
    }
    show(2);
    return;
  }
  if (step === 2) {
    nextButton.disabled = true;
    const c = await check();
    nextButton.disabled = false;
    if (!c) return;
    const {count, loose, byField} = showProblems(true);
    if (count > 0) {
      const first = allFields().find((f) => byField.has(idOf(f)));
      fail(count === 1 ? 'Un champ est à corriger.' : `${count} champs sont à corriger.`,
        loose.map((p) => `${p.path} : ${p.message}`));
      if (first && !loose.length) document.getElementById(idOf(first)).focus();
      return;
    }
    show(3);
    return;
  }
  if (step === 3) {
    if (!document.getElementById('attachments-error').hidden) {
      fail('Une pièce jointe est refusée : choisissez d’autres fichiers, ou aucun.');
      document.getElementById('attachments').focus();
      return;
    }
    if (!form.mandate_date.value) {
      fail('Indiquez la date du mandat.');
      form.mandate_date.focus();
      return;
    }
    if (form.route.value === 'chosen' &&
        !document.querySelector('[name=agency]:checked')) {
      fail('Choisissez au moins un organisme.');
      return;
    }
    nextButton.disabled = true;
    const c = await check();
    nextButton.disabled = false;
    if (!c) return;
    if (c.refusal) {
      fail(c.refusal);
      return;
    }
    if (c.problems.length) {
      show(2);
      showProblems(true);
      fail('Des champs sont à corriger.');
      return;
    }
    renderReview(c);
    show(4);
    return;
  }
  await send();
}

async function send() {
  nextButton.disabled = true;
  nextButton.textContent = 'Envoi en cours…';
  const {out} = request();
  const sent = attachments.map(({name, media_type, content_base64}) =>
    ({name, media_type, content_base64}));
  const {status, data} = await api('POST', '/api/cases',
    {...out, request_id: requestId, ...(sent.length ? {attachments: sent} : {})});
  nextButton.disabled = false;
  nextButton.textContent = 'Envoyer le dossier';
  if (status === 200 || status === 201) {
    sessionStorage.removeItem('relais.request');
    window.location.assign(`/dossiers/${data.case.case_id}?ouvert=1`);
    return;
  }
  if (status === 422 && data?.code === 'case_invalid') {
    lastCheck = {problems: data.problems, referenceFields: request().referenceFields};
    show(2);
    showProblems(true);
  }
  if (status === 409) {
    // This form opened another case: the next sending is a new opening.
    requestId = newRequestId();
    sessionStorage.setItem('relais.request', requestId);
  }
  fail((data && data.message) || 'Le dossier n’a pas pu être envoyé. Réessayez.');
}

form.addEventListener('submit', (event) => {
  event.preventDefault();
  if (!nextButton.disabled) next();
});
backButton.addEventListener('click', () => {
  errorBox.hidden = true;
  show(step - 1);
});
form.addEventListener('change', (event) => {
  if (event.target.name === 'route') {
    document.getElementById('chosen-agencies').hidden =
      form.route.value !== 'chosen';
  }
});

async function start() {
  const me = await session();
  if (!me) return;
  if (me.limits) limits = me.limits;
  document.getElementById('steps').setAttribute('data-fr-steps', 4);
  form.mandate_date.value = new Date().toLocaleDateString('sv-SE',
    {timeZone: 'Europe/Paris'});
  document.getElementById('chosen-agencies').replaceChildren(
    ...agencies.map(([id, label]) => el('div', {class: 'fr-checkbox-group'},
      el('input', {type: 'checkbox', name: 'agency', value: id, id: `agency-${id}`}),
      el('label', {class: 'fr-label', for: `agency-${id}`, text: label}))));
  const {status, data} = await api('GET', '/api/case-types');
  if (status !== 200) {
    fail((data && data.message) || 'Les démarches ne peuvent pas être lues.');
    return;
  }
  typeLabels = Object.fromEntries(data.case_types.map((t) => [t.name, t.label]));
  document.getElementById('case-types').replaceChildren(
    ...data.case_types.map((t) => el('div', {class: 'fr-fieldset__element'},
      el('div', {class: 'fr-radio-group'},
        el('input', {type: 'radio', name: 'case_type', value: t.name,
          id: `type-${t.name}`}),
        el('label', {class: 'fr-label', for: `type-${t.name}`, text: t.label})))));
  show(1);
}
start();
