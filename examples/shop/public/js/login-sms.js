// SMS-code login (girder/sms): ask for a code for a linked phone, then type it in. The
// sign-in page shows this next to the password form; the account page links a phone.
import { ApiError, api, tokens } from './api.js';
import { field, h, mount, toast } from './dom.js';

const go = (hash) => {
  if (location.hash === hash) window.dispatchEvent(new HashChangeEvent('hashchange'));
  else location.hash = hash;
};

const errorText = (err) =>
  err instanceof ApiError ? err.message : 'The shop did not answer. Try again.';

const phoneInput = () =>
  h('input', {
    name: 'phone',
    type: 'tel',
    autocomplete: 'tel',
    placeholder: '+8613800000000',
    required: true,
  });

const codeInput = () =>
  h('input', {
    name: 'code',
    inputmode: 'numeric',
    autocomplete: 'one-time-code',
    pattern: '[0-9]{4,10}',
    required: true,
  });

/**
 * Two steps in one form: "Text me a code" sends it to `sendPath`, then the code field
 * and `submitText` appear; submitting calls `verify({phone, code})`.
 */
function codeForm({ label, sendPath, submitText, verify }) {
  const phone = phoneInput();
  const code = codeInput();
  const codeRow = field('Code from the SMS', code);
  codeRow.hidden = true;
  code.disabled = true;
  const error = h('p', { class: 'error', role: 'alert' });
  const hint = h('p', { class: 'hint' });
  const sendButton = h('button', { type: 'button', class: 'secondary' }, 'Text me a code');
  const submit = h('button', { type: 'submit', disabled: true }, submitText);
  const form = h(
    'form',
    { class: 'stack', 'aria-label': label },
    field('Phone (international format)', phone),
    sendButton,
    codeRow,
    submit,
    hint,
    error,
  );
  sendButton.addEventListener('click', async () => {
    if (!phone.reportValidity()) return;
    sendButton.disabled = true;
    error.textContent = '';
    try {
      const sent = await api('POST', sendPath, { phone: phone.value });
      codeRow.hidden = false;
      code.disabled = false;
      submit.disabled = false;
      code.focus();
      const wait = Math.ceil((sent.resendAfterMs ?? 60_000) / 1000);
      hint.textContent = `If this number is yours, a code is on its way. You can ask again in ${wait} s.`;
      setTimeout(() => (sendButton.disabled = false), wait * 1000);
    } catch (err) {
      error.textContent = errorText(err);
      sendButton.disabled = false;
    }
  });
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    submit.disabled = true;
    error.textContent = '';
    try {
      await verify({ phone: phone.value, code: code.value.trim() });
    } catch (err) {
      error.textContent = errorText(err);
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}

/** The sign-in page's "log in with an SMS code" section. */
export function smsLoginSection(params, onSignedIn) {
  return h(
    'section',
    { class: 'sms-login', 'aria-label': 'Log in with an SMS code' },
    h('h2', {}, 'Or log in with an SMS code'),
    h('p', { class: 'hint' }, 'For accounts with a linked phone (link one on your account page).'),
    codeForm({
      label: 'Log in with an SMS code',
      sendPath: '/api/users/login/sms/send',
      submitText: 'Log in',
      verify: async (body) => {
        tokens.set(await api('POST', '/api/users/login/sms/verify', body));
        await onSignedIn();
        go(params.get('next') === 'cart' ? '#/cart' : '#/products');
      },
    }),
  );
}

/** The account page: who you are, your linked phone, and linking a (new) one. */
export async function accountView(main) {
  const [profile, { phone }] = await Promise.all([
    api('GET', '/api/users/profile'),
    api('GET', '/api/users/phone'),
  ]);
  const current = h(
    'p',
    { 'data-phone': phone ?? '' },
    phone ? `Linked phone: ${phone}` : 'No phone linked yet.',
  );
  mount(
    main,
    h('h1', {}, 'Your account'),
    h('p', {}, `Signed in as ${profile.email}`),
    h(
      'section',
      { class: 'link-phone', 'aria-label': 'Link a phone' },
      h('h2', {}, phone ? 'Change your phone' : 'Link a phone'),
      current,
      h('p', { class: 'hint' }, 'With a linked phone you can log in with a code sent by SMS.'),
      codeForm({
        label: 'Link a phone',
        sendPath: '/api/users/phone/code',
        submitText: 'Link this phone',
        verify: async (body) => {
          const linked = await api('POST', '/api/users/phone', body);
          toast(`Phone ${linked.phone} linked`);
          await accountView(main);
        },
      }),
    ),
  );
}
