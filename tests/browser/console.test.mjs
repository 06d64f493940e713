// The France services console in Debian's headless Chromium, on the
// development stack console_test.sh started (docs/CONSOLE.md): an
// agent's whole path, with axe-core on each main page (no serious or
// critical violation) and a screenshot of each in SCREENSHOT_DIR.
//   CONSOLE_URL   the console (http://127.0.0.1:PORT)
//   STATE_DIR     the stack's folder (the agencies' status/ folders)
//   WEB_DIR       build/web (Playwright and axe-core from npm)
//   SCREENSHOT_DIR
import assert from 'node:assert/strict';
import {createRequire} from 'node:module';
import fs from 'node:fs';
import path from 'node:path';

const {CONSOLE_URL: url, STATE_DIR: stateDir, WEB_DIR: webDir,
  SCREENSHOT_DIR: shots} = process.env;
const require = createRequire(`${webDir}/`);
const {chromium} = require('playwright-core');
const axePath = require.resolve('axe-core/axe.min.js');

const agencies = ['caf', 'cpam', 'dgfip', 'france-travail'];
const login = 'agent.dev';
const password = 'france-services-dev';
// The sample citizen of deploy/samples/france_services/address_change.json.
const citizen = {nir: '284057512345672', birthName: 'MARTIN',
  givenNames: 'Claire, Anne', birthDate: '1984-05-12', sex: 'Female',
  birthplace: '75115', country: '99100'};
const wrongNir = '284057512345671';  // its key does not match
// A small real PDF, a program renamed .pdf, and a PDF over the console's
// 768 KiB limit.
const pdf = Buffer.from('%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n' +
  'trailer << /Root 1 0 R >>\n%%EOF\n');
const disguised = Buffer.concat([Buffer.from('MZ\x90\x00'), Buffer.alloc(200, 7)]);
const oversized = Buffer.concat([Buffer.from('%PDF-1.4\n'), Buffer.alloc(800 * 1024, 32)]);

let step = '';
const problems = [];  // what the pages said on their console: must be none
function begin(name) {
  step = name;
  console.log(`-- ${name}`);
}

// axe-core's WCAG 2.1 A and AA rules on the page as it is: fails on any
// serious or critical violation.
async function accessible(page, name) {
  await page.addScriptTag({path: axePath});
  const result = await page.evaluate(() => window.axe.run(document, {
    runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']},
  }));
  const bad = result.violations.filter(
    (v) => v.impact === 'serious' || v.impact === 'critical');
  for (const v of bad) {
    console.error(`axe (${name}): ${v.id} [${v.impact}] ${v.help}: ` +
      v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(' | '));
  }
  assert.equal(bad.length, 0, `${name}: serious or critical accessibility violations`);
  console.log(`   axe: ${result.passes.length} rules pass, ` +
    `${result.violations.length} minor or moderate findings`);
}

async function shot(page, name) {
  const file = path.join(shots, `${name}.png`);
  await page.screenshot({path: file, fullPage: true});
  console.log(`   screenshot ${file}`);
}

// A partner system's status for a case, dropped atomically in its
// adapter's status/ folder (adapters/README.md).
function reportDone(agency, caseId) {
  const dir = path.join(stateDir, agency, 'status');
  const tmp = path.join(dir, `.${caseId}.json`);
  fs.writeFileSync(tmp, JSON.stringify({case_id: caseId, status: 'done',
    reason: `${agency} : dossier traité`}));
  fs.renameSync(tmp, path.join(dir, `${caseId}.json`));
}

const browser = await chromium.launch({executablePath: '/usr/bin/chromium',
  args: ['--no-sandbox', '--lang=fr-FR']});
try {
  // bypassCSP: axe-core is injected as an inline script, which the
  // console's Content-Security-Policy forbids (rightly) to the pages.
  const context = await browser.newContext({locale: 'fr-FR',
    timezoneId: 'Europe/Paris', viewport: {width: 1280, height: 900},
    bypassCSP: true});
  const page = await context.newPage();
  page.on('pageerror', (e) => problems.push(`${step}: page error: ${e.message}`));
  page.on('console', (m) => {
    // The API's 4xx answers are expected in the steps that cause them (a
    // check that nobody would receive the case yet is a 400, say).
    if (m.type() === 'error' && !/status of 4\d\d/.test(m.text())) {
      problems.push(`${step}: console error: ${m.text()}`);
    }
  });

  begin('a page without a session sends to the sign-in');
  await page.goto(`${url}/`);
  assert.equal(new URL(page.url()).pathname, '/connexion');
  const unsigned = await page.evaluate(async () =>
    (await fetch('/api/cases')).status);
  assert.equal(unsigned, 401, 'GET /api/cases without a session');
  await accessible(page, 'sign-in');
  await shot(page, '1-connexion');

  begin('a wrong password shows its message');
  await page.fill('#login', login);
  await page.fill('#password', 'not-the-password');
  await page.click('#sign-in-button');
  await page.waitForSelector('#sign-in-error:not([hidden])');
  assert.match(await page.textContent('#sign-in-error'),
    /Identifiant ou mot de passe incorrect/);
  assert.equal(new URL(page.url()).pathname, '/connexion');
  await shot(page, '2-connexion-refusee');

  begin('the agent signs in and sees the site’s cases');
  await page.fill('#password', password);
  await page.click('#sign-in-button');
  await page.waitForURL(`${url}/`);
  await page.waitForSelector('#count:not(:empty)');
  assert.match(await page.textContent('#agent-name'), /Agent de développement/);
  const before = await page.evaluate(async () =>
    (await (await fetch('/api/cases')).json()).cases.length);

  begin('a change without its CSRF token is refused');
  const noCsrf = await page.evaluate(async () => (await fetch('/api/cases', {
    method: 'POST', headers: {'Content-Type': 'application/json'},
    body: '{}'})).status);
  assert.equal(noCsrf, 403);

  begin('another site’s case, or none, is not shown');
  await page.goto(`${url}/dossiers/0123456789abcdef0123456789abcdef`);
  await page.waitForSelector('#case-error:not([hidden])');
  assert.match(await page.textContent('#case-error'), /dossier/i);

  begin('opening an address change: the life event');
  await page.goto(`${url}/nouveau`);
  await page.waitForSelector('label[for=type-AddressChange]');
  await accessible(page, 'opening, step 1');
  assert.equal(await page.isVisible('#back'), false, 'no step before the first');
  await shot(page, '3-nouveau-demarche');
  await page.click('label[for=type-AddressChange]');
  await page.click('#next');
  await page.waitForSelector('#back', {state: 'visible'});

  begin('an invalid NIR is shown on its field as it is typed');
  await page.waitForSelector('#f-citizen-nir');
  await page.fill('#f-citizen-nir', wrongNir);
  await page.waitForSelector('#f-citizen-nir-error:not([hidden])');
  assert.match(await page.textContent('#f-citizen-nir-error'), /NIR/);
  assert.equal(await page.getAttribute('#f-citizen-nir', 'aria-invalid'), 'true');
  await accessible(page, 'opening, step 2 with an error');
  await shot(page, '4-nouveau-nir-invalide');

  begin('the citizen and the move');
  await page.fill('#f-citizen-nir', citizen.nir);
  await page.fill('#f-citizen-identity-birth_name', citizen.birthName);
  await page.fill('#f-citizen-identity-given_names', citizen.givenNames);
  await page.fill('#f-citizen-identity-birth_date', citizen.birthDate);
  await page.selectOption('#f-citizen-identity-sex', citizen.sex);
  await page.fill('#f-citizen-identity-birthplace_cog', citizen.birthplace);
  await page.fill('#f-citizen-identity-birth_country_cog', citizen.country);
  await page.fill('#f-effective_date', '2026-12-01');
  await page.fill('#f-new_address-lines', '4 place du Marché\nBâtiment B');
  await page.fill('#f-new_address-postcode', '69003');
  await page.fill('#f-new_address-city', 'Lyon');
  await page.fill('#f-new_address-city_cog', '69383');
  await page.fill('#f-references-caf', '7654321');
  await page.waitForSelector('#f-citizen-nir-error', {state: 'hidden'});
  await page.click('#next');

  begin('a disguised or oversized attachment is refused on its field');
  await page.waitForSelector('section[data-step="3"]:not([hidden])');
  await page.setInputFiles('#attachments', {name: 'justificatif.pdf',
    mimeType: 'application/pdf', buffer: disguised});
  await page.waitForSelector('#attachments-error:not([hidden])');
  assert.match(await page.textContent('#attachments-error'), /renommé est refusé/);
  await accessible(page, 'opening, step 3 with a refused attachment');
  await shot(page, '5a-nouveau-piece-refusee');
  await page.setInputFiles('#attachments', {name: 'gros.pdf',
    mimeType: 'application/pdf', buffer: oversized});
  await page.waitForSelector('#attachments-error:not([hidden]) >> text=/au total/');
  // The server refuses a disguised file too, whatever the page did.
  const refused = await page.evaluate(async (b64) => {
    const csrf = (await (await fetch('/api/session')).json()).csrf;
    const r = await fetch('/api/cases', {method: 'POST',
      headers: {'Content-Type': 'application/json', 'X-CSRF-Token': csrf},
      body: JSON.stringify({request_id: 'disguised-0123456789',
        event: {body_type: 'AddressChange', body: {}},
        mandate: {kind: 'Oral', date: '2026-01-05'},
        attachments: [{name: 'justificatif.pdf', media_type: 'application/pdf',
          content_base64: b64}]})});
    return {status: r.status, body: await r.json()};
  }, disguised.toString('base64'));
  assert.equal(refused.status, 400);
  assert.match(refused.body.message, /n'est pas ce qu'elle annonce/);

  begin('the citizen’s document, attached once');
  await page.setInputFiles('#attachments', {name: 'justificatif de domicile.pdf',
    mimeType: 'application/pdf', buffer: pdf});
  await page.waitForSelector('#attachments-error', {state: 'hidden'});
  assert.match(await page.textContent('#attachment-list'), /justificatif de domicile\.pdf/);

  begin('the mandate and the recipients, chosen by the agent');
  await page.click('label[for=mandate-written]');
  await page.click('label[for=route-chosen]');
  for (const a of agencies) await page.click(`label[for=agency-${a}]`);
  await accessible(page, 'opening, step 3');
  await page.click('#next');

  begin('who receives what, then a double click on send');
  await page.waitForSelector('section[data-step="4"]:not([hidden])');
  for (const a of agencies) {
    await page.waitForSelector(`.relais-recipient[data-agency="${a}"]`);
  }
  // Minimisation shown: the CAF's view carries its own number, the
  // DGFiP's does not.
  assert.match(await page.textContent('.relais-recipient[data-agency="caf"]'),
    /allocataire CAF7654321/);
  assert.doesNotMatch(
    await page.textContent('.relais-recipient[data-agency="dgfip"]'), /allocataire/);
  assert.match(await page.textContent('#review-attachments'),
    /justificatif de domicile\.pdf/);
  await accessible(page, 'opening, step 4');
  await shot(page, '5-nouveau-verification');
  await page.dblclick('#next');
  await page.waitForURL(/\/dossiers\/[A-Za-z0-9_-]+\?ouvert=1$/);
  const caseId = new URL(page.url()).pathname.split('/')[2];
  console.log(`   case ${caseId}`);

  begin('one case opened, not two');
  const after = await page.evaluate(async () =>
    (await (await fetch('/api/cases')).json()).cases);
  assert.equal(after.length, before + 1, 'cases after a double click');
  assert.equal(after.filter((c) => c.case_id === caseId).length, 1);

  begin('each agency receives it, then reports it done: the page follows live');
  const states = () => page.$$eval('#recipients tbody tr', (rows) =>
    Object.fromEntries(rows.map((r) => [r.dataset.agency,
      r.querySelector('[data-state]')?.dataset.state])));
  await page.waitForFunction((names) => {
    const rows = [...document.querySelectorAll('#recipients tbody tr')];
    return names.every((a) => {
      const s = rows.find((r) => r.dataset.agency === a)
        ?.querySelector('[data-state]')?.dataset.state;
      return s && s !== 'Sent';
    });
  }, agencies, {timeout: 60000});
  console.log(`   received: ${JSON.stringify(await states())}`);

  begin('each agency’s adapter wrote the document beside the case file');
  for (const a of agencies) {
    const outbox = path.join(stateDir, a, 'outbox');
    const names = fs.readdirSync(outbox);
    const manifest = names.filter((n) => n.endsWith('.pj.json'))
      .map((n) => JSON.parse(fs.readFileSync(path.join(outbox, n))))
      .find((m) => m.case_id === caseId);
    assert.ok(manifest, `${a}: no manifest for the case in ${names.join(', ')}`);
    assert.ok(names.includes(manifest.file), `${a}: the case file ${manifest.file}`);
    assert.equal(manifest.attachments.length, 1);
    const [doc] = manifest.attachments;
    assert.equal(doc.name, 'justificatif de domicile.pdf');
    assert.equal(doc.media_type, 'application/pdf');
    assert.ok(fs.readFileSync(path.join(outbox, doc.file)).equals(pdf),
      `${a}: ${doc.file} is not the document given`);
  }
  // No reload from here on: what changes comes by the live updates.
  await page.evaluate(() => { window.relaisSamePage = true; });
  for (const a of agencies) reportDone(a, caseId);
  await page.waitForFunction((names) => names.every((a) =>
    document.querySelector(`#recipients tr[data-agency="${a}"] [data-state]`)
      ?.dataset.state === 'Done'), agencies, {timeout: 60000});
  assert.equal(await page.evaluate(() => window.relaisSamePage), true,
    'the page reloaded');
  assert.match(await page.textContent('#progress'), /Terminé/);
  await accessible(page, 'case page');
  await shot(page, '6-dossier-termine');

  begin('the list shows it done');
  await page.goto(`${url}/`);
  await page.waitForSelector(`tr[data-case="${caseId}"] [data-state="done"]`);
  await accessible(page, 'case list');
  await shot(page, '7-dossiers');

  begin('the citizen’s receipt');
  await page.goto(`${url}/dossiers/${caseId}/recepisse`);
  await page.waitForSelector('#agencies li');
  const receipt = await page.textContent('main');
  assert.match(receipt, new RegExp(caseId));
  for (const name of ['Caf', 'Assurance maladie', 'Finances publiques', 'France Travail']) {
    assert.match(receipt, new RegExp(name, 'i'));
  }
  assert.match(receipt, /France services Paris 15e/, 'the site’s name');
  assert.match(receipt, /justificatif de domicile\.pdf/, 'the documents given');
  await accessible(page, 'receipt');
  await shot(page, '8-recepisse');

  begin('signing out ends the session');
  await page.click('#sign-out');
  await page.waitForURL(`${url}/connexion`);
  await page.goto(`${url}/nouveau`);
  assert.equal(new URL(page.url()).pathname, '/connexion');

  assert.deepEqual(problems, [], 'the pages reported errors');
  console.log('every browser check passed');
} catch (e) {
  console.error(`FAILED in "${step}": ${e.message}`);
  for (const p of problems) console.error(p);
  process.exitCode = 1;
} finally {
  await browser.close();
}
