// Ops panel for girder/sms: the fallback queue (depth, queued by reason, retries, dead
// jobs, delivered later) and each mock provider's sends by outcome, with the switch that
// makes it fail (to watch round-robin failover, then the queue, take over).
import { api } from './api.js';
import { h, mount } from './dom.js';

const cell = (v) => h('td', { class: 'num' }, v === null || v === undefined ? '–' : String(v));

export function smsPanel() {
  const queueBody = h('tbody');
  const providerBody = h('tbody');
  const summary = h('p', { class: 'hint' });
  let latest;
  const toggle = async (name, failing) => {
    await api('POST', `/api/admin/sms/providers/${encodeURIComponent(name)}`, { failing });
    if (latest) {
      const p = latest.providers.find((x) => x.name === name);
      if (p) p.failing = failing;
      render(latest);
    }
  };
  const render = (sms) => {
    latest = sms;
    const q = sms.queue;
    mount(
      queueBody,
      h(
        'tr',
        {},
        cell(q?.pending),
        cell(q?.leased),
        cell(q?.sent),
        cell(q?.dead),
        cell(sms.retries),
        cell(sms.dead),
        cell(sms.deliveredFromQueue),
      ),
    );
    summary.textContent =
      `Queued instead of sent: ${sms.enqueued.error} after a failure, ` +
      `${sms.enqueued['rate-limited']} over the provider quota, ${sms.enqueued.down} while judged down. ` +
      `Crash detector: ${sms.detector}.`;
    mount(
      providerBody,
      sms.providers.map((p) =>
        h(
          'tr',
          { 'data-provider': p.name },
          h('td', {}, p.name),
          cell(p.sent),
          cell(p.failed),
          h('td', { 'data-failing': String(p.failing) }, p.failing ? 'failing' : 'ok'),
          h(
            'td',
            {},
            h(
              'button',
              {
                type: 'button',
                class: 'secondary',
                onclick: () => toggle(p.name, !p.failing),
              },
              p.failing ? `Recover ${p.name}` : `Make ${p.name} fail`,
            ),
          ),
        ),
      ),
    );
  };
  return {
    element: h(
      'section',
      { class: 'ops-sms', 'aria-label': 'SMS' },
      h('h2', {}, 'SMS'),
      h(
        'table',
        { 'aria-label': 'SMS queue' },
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            ...['Pending', 'Leased', 'Sent', 'Dead', 'Retries', 'Dead jobs', 'Delivered later'].map(
              (t) => h('th', { class: 'num' }, t),
            ),
          ),
        ),
        queueBody,
      ),
      summary,
      h(
        'table',
        { 'aria-label': 'SMS providers' },
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            h('th', {}, 'Provider'),
            h('th', { class: 'num' }, 'Sent'),
            h('th', { class: 'num' }, 'Failed'),
            h('th', {}, 'State'),
            h('th', {}),
          ),
        ),
        providerBody,
      ),
    ),
    update(snap) {
      if (snap.sms) render(snap.sms);
    },
  };
}
