// A tiny DOM helper: h('button', { onclick }, 'Text'). Text is always set as text, never
// as HTML, so product names and emails cannot inject markup.

const nodes = (children) =>
  children
    .flat(Number.POSITIVE_INFINITY)
    .filter((c) => c !== undefined && c !== null && c !== false)
    .map((c) => (c instanceof Node ? c : document.createTextNode(String(c))));

/** Replace an element's content (arrays are flattened, null/false skipped). */
export function mount(el, ...children) {
  el.replaceChildren(...nodes(children));
}

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function')
      el.addEventListener(key.slice(2), value);
    else if (key === 'class') el.className = value;
    else if (key in el && typeof value !== 'string') el[key] = value;
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  el.append(...nodes(children));
  return el;
}

/** A labelled form control: the label wraps it, so clicking the text focuses it. */
export const field = (label, control) => h('label', {}, label, control);

export const money = (cents) => `$${(cents / 100).toFixed(2)}`;

const STATUS = { pending_payment: 'Awaiting payment', paid: 'Paid', cancelled: 'Cancelled' };
export const statusText = (order) =>
  order.status === 'cancelled' && order.cancelReason === 'timeout'
    ? 'Cancelled (not paid in time)'
    : (STATUS[order.status] ?? order.status);

let toastTimer;
export function toast(message, { bad = false } = {}) {
  const el = document.getElementById('toast');
  el.textContent = message;
  el.className = `show${bad ? ' bad' : ''}`;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => (el.className = ''), 3500);
}
