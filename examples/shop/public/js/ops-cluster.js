// Ops panel for the services over gRPC: per service, its instances (registry lease
// state, weight, pid, up or exited), the live SWRR split (a bar per instance: its share
// of the gateway's calls over the recent window), the client breaker in front of it, and
// the actions: Kill (a crash), Stop (graceful), +1 instance, and a weight to set in the
// registry. Calls /api/admin/cluster; hidden when the services are plain object calls.
import { ApiError, api } from './api.js';
import { h, mount } from './dom.js';

const BASE = '/api/admin/cluster';
const num = (v) => (v === null || v === undefined ? '–' : String(v));
const pct = (share) => `${Math.round(share * 1000) / 10}%`;
const LEASES = {
  registered: 'registered',
  stale: 'stale (registry unreachable: last list in use)',
  gone: 'gone',
};

export function clusterPanel() {
  const message = h('p', { role: 'status', 'data-cluster-message': '' });
  const summary = h('p', { class: 'hint', 'data-cluster-summary': '' });
  const body = h('div', {});
  const element = h(
    'section',
    { class: 'ops-cluster', 'aria-label': 'Cluster', hidden: true },
    h('h2', {}, 'Cluster'),
    summary,
    message,
    body,
  );
  // Weight inputs survive re-renders, so a poll never wipes what the admin is typing.
  const inputs = new Map();
  let busy = false;

  const act = async (label, path, payload) => {
    message.textContent = `${label}…`;
    message.className = '';
    busy = true;
    try {
      await api('POST', `${BASE}${path}`, payload);
      message.textContent = `${label}: done`;
    } catch (err) {
      message.textContent = `${label} refused: ${err.message}`;
      message.className = 'bad';
    } finally {
      busy = false;
    }
    await refresh();
  };

  const weightInput = (instance) => {
    let input = inputs.get(instance.id);
    if (!input) {
      input = h('input', {
        type: 'number',
        min: 1,
        max: 1000,
        step: 1,
        name: 'weight',
        'aria-label': `Weight of ${instance.id}`,
      });
      input.dataset.dirty = '';
      input.addEventListener('input', () => (input.dataset.dirty = '1'));
      inputs.set(instance.id, input);
    }
    if (!input.dataset.dirty && document.activeElement !== input) {
      input.value = num(instance.weight);
    }
    return input;
  };

  const row = (instance) => {
    const up = instance.state === 'running';
    const path = `/instances/${encodeURIComponent(instance.id ?? '')}`;
    const input = up && instance.id ? weightInput(instance) : undefined;
    const setWeight = () => {
      input.dataset.dirty = '';
      return act(`Weight of ${instance.id} → ${input.value}`, `${path}/weight`, {
        weight: Number(input.value),
      });
    };
    return h(
      'tr',
      {
        'data-instance': instance.id ?? instance.address,
        class: up ? '' : 'ops-cluster-down',
      },
      h('td', {}, instance.id ?? '(external)'),
      h('td', {}, instance.address),
      h('td', { class: 'num' }, num(instance.pid)),
      h(
        'td',
        { 'data-state': instance.state ?? '' },
        up
          ? 'up'
          : instance.state === 'exited'
            ? `exited (${num(instance.exit)})`
            : num(instance.state),
      ),
      h('td', { 'data-lease': instance.lease }, LEASES[instance.lease] ?? instance.lease),
      h(
        'td',
        {},
        input
          ? h(
              'form',
              {
                class: 'ops-cluster-weight',
                onsubmit: (event) => {
                  event.preventDefault();
                  void setWeight();
                },
              },
              input,
              h('button', { type: 'submit', class: 'secondary', 'data-action': 'weight' }, 'Set'),
            )
          : num(instance.weight),
      ),
      h(
        'td',
        { class: 'ops-split-cell' },
        h(
          'div',
          { class: 'ops-split', title: `${instance.recent} of the recent calls` },
          h('span', { style: `width: ${Math.round(instance.share * 100)}%` }),
        ),
        h('span', { class: 'num', 'data-share': String(instance.share) }, pct(instance.share)),
      ),
      h('td', { class: 'num', 'data-picks': '' }, String(instance.picks)),
      h(
        'td',
        {},
        up && instance.id
          ? [
              h(
                'button',
                {
                  type: 'button',
                  class: 'danger',
                  'data-action': 'kill',
                  onclick: () => act(`Kill ${instance.id}`, `${path}/kill`, { signal: 'SIGKILL' }),
                },
                'Kill (crash)',
              ),
              h(
                'button',
                {
                  type: 'button',
                  class: 'secondary',
                  'data-action': 'stop',
                  onclick: () => act(`Stop ${instance.id}`, `${path}/kill`, { signal: 'SIGTERM' }),
                },
                'Stop',
              ),
            ]
          : '',
      ),
    );
  };

  const render = (snap) => {
    const window = Math.round(snap.windowMs / 1000);
    summary.textContent =
      snap.mode === 'processes'
        ? `One process per instance, registered in etcd. Split over the last ${window} s of the gateway's calls.`
        : snap.mode === 'in-process'
          ? `Every service on its own gRPC server inside this process (memory registry). Split over the last ${window} s of calls.`
          : `Instances as the registry lists them (no actions here). Split over the last ${window} s.`;
    const actions = snap.mode !== 'none';
    mount(
      body,
      snap.services.map((service) =>
        h(
          'div',
          { class: 'card ops-cluster-service', 'data-service': service.name },
          h(
            'h3',
            {},
            `${service.name} `,
            h(
              'span',
              {
                class: `state-${service.breaker.state}`,
                'data-breaker-state': service.breaker.state,
              },
              `breaker ${service.breaker.state}`,
            ),
            service.stale ? h('span', { class: 'bad' }, ' (registry view stale)') : '',
            actions
              ? h(
                  'button',
                  {
                    type: 'button',
                    class: 'secondary',
                    'data-scale-up': service.name,
                    onclick: () =>
                      act(
                        `+1 ${service.name}`,
                        `/services/${encodeURIComponent(service.name)}/scale-up`,
                      ),
                  },
                  '+1 instance',
                )
              : '',
          ),
          h(
            'table',
            { 'aria-label': `Instances of ${service.name}` },
            h(
              'thead',
              {},
              h(
                'tr',
                {},
                ...[
                  'Instance',
                  'Address',
                  'PID',
                  'State',
                  'Lease',
                  'Weight',
                  'SWRR split',
                  'Picks',
                  '',
                ].map((label) => h('th', {}, label)),
              ),
            ),
            h(
              'tbody',
              {},
              service.instances.length === 0
                ? h('tr', {}, h('td', { colspan: 9, class: 'hint' }, 'no instances'))
                : service.instances.map(row),
            ),
          ),
        ),
      ),
    );
  };

  async function refresh() {
    if (busy) return;
    try {
      const snap = await api('GET', BASE);
      element.hidden = false;
      render(snap);
    } catch (err) {
      // 404: the services are plain object calls (SHOP_TRANSPORT=direct): no panel.
      if (err instanceof ApiError && err.status === 404) element.hidden = true;
      else message.textContent = `Could not load the cluster: ${err.message}`;
    }
  }

  return { element, refresh };
}
