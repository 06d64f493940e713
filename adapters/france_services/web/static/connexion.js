// The sign-in page: POST /api/session, then the cases (or the page the
// agent came from).
import {api, alertIn} from './console.js';

const form = document.getElementById('sign-in');
const box = document.getElementById('sign-in-error');
const button = document.getElementById('sign-in-button');
for (const e of document.querySelectorAll('[data-signed-in]')) e.hidden = true;

// Marks `field` as wrong with `message` (empty: right), tied to it for
// screen readers by aria-describedby.
function fieldError(field, message) {
  const group = document.getElementById(`${field}-group`);
  const input = document.getElementById(field);
  const error = document.getElementById(`${field}-error`);
  group.classList.toggle('fr-input-group--error', !!message);
  input.classList.toggle('fr-input--error', !!message);
  input.setAttribute('aria-invalid', message ? 'true' : 'false');
  error.hidden = !message;
  error.textContent = message;
}

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  const login = form.login.value.trim();
  const password = form.password.value;
  fieldError('login', login ? '' : 'Saisissez votre identifiant.');
  fieldError('password', password ? '' : 'Saisissez votre mot de passe.');
  alertIn(box, '');
  if (!login) { form.login.focus(); return; }
  if (!password) { form.password.focus(); return; }
  button.disabled = true;
  const {status, data} = await api('POST', '/api/session', {login, password});
  button.disabled = false;
  if (status === 200) {
    window.location.assign('/');
    return;
  }
  alertIn(box, (data && data.message) ||
    'La connexion a échoué. Réessayez dans un instant.');
  form.password.value = '';
  box.focus();
  form.password.focus();
});
