// The ops page (admins): polls GET /api/admin/ops every second and draws live charts with
// uPlot (served by the shop under /static/vendor/). The endpoint returns cumulative
// counters and histograms; rates and latency percentiles come from the difference
// between two polls.
import { api } from './api.js';
import { h, mount } from './dom.js';
import { bucketDelta, quantile } from './histogram.js';
import { cachePanel } from './ops-cache.js';
import { clusterPanel } from './ops-cluster.js';
import { jobsPanel } from './ops-jobs.js';
import { migrationPanel } from './ops-migration.js';
import { mqPanel } from './ops-mq.js';
import { smsPanel } from './ops-sms.js';

const POLL_MS = 1000;
const KEEP = 120; // points per chart (two minutes)
const COLORS = ['#2f5fb3', '#b3261e', '#1f7a4d', '#a35f00', '#7b3fb3', '#00838f', '#5b6475'];

let uplotLoading;
function loadUPlot() {
  uplotLoading ??= new Promise((resolve, reject) => {
    document.head.append(h('link', { rel: 'stylesheet', href: '/static/vendor/uPlot.min.css' }));
    const script = h('script', { src: '/static/vendor/uPlot.iife.min.js' });
    script.addEventListener('load', () => resolve(window.uPlot));
    script.addEventListener('error', () => reject(new Error('could not load the chart library')));
    document.head.append(script);
  });
  return uplotLoading;
}

/** A uPlot line chart whose series may come and go. */
function lineChart(uPlot, el, title, unit) {
  let plot;
  let keys = '';
  return {
    update(times, series) {
      const names = [...series.keys()];
      if (names.join('\n') !== keys || !plot) {
        keys = names.join('\n');
        plot?.destroy();
        plot = new uPlot(
          {
            title,
            width: Math.max(320, el.clientWidth || 600),
            height: 200,
            scales: { x: { time: true } },
            axes: [{}, { label: unit, size: 60 }],
            series: [
              {},
              ...names.map((name, i) => ({
                label: name,
                stroke: COLORS[i % COLORS.length],
                width: 2,
                spanGaps: true,
              })),
            ],
          },
          [times, ...names.map((n) => series.get(n))],
          el,
        );
      } else plot.setData([times, ...names.map((n) => series.get(n))]);
    },
  };
}

const fmt = (v, digits = 1) => (v === null || v === undefined ? '–' : v.toFixed(digits));
const ms = (seconds) => (seconds === null ? null : seconds * 1000);
const HEALTH = {
  closed: 'healthy',
  'half-open': 'probing',
  open: 'failing fast',
  isolated: 'isolated',
};

export async function opsView(main) {
  const uPlot = await loadUPlot();
  const routesTable = h('tbody');
  const breakersEl = h('div', { class: 'ops-breakers' });
  const targetsTable = h('tbody');
  const charts = {
    rate: h('div', { class: 'ops-chart' }),
    p95: h('div', { class: 'ops-chart' }),
    percentiles: h('div', { class: 'ops-chart' }),
    limiters: h('div', { class: 'ops-chart' }),
    failures: h('div', { class: 'ops-chart' }),
  };
  const status = h('p', { class: 'hint', id: 'ops-status' }, 'Waiting for data…');
  const jobs = jobsPanel();
  const caches = cachePanel();
  const sms = smsPanel();
  const mq = mqPanel();
  const cluster = clusterPanel();
  const migration = migrationPanel();
  const routeSelect = h('select', { name: 'route' });
  let selectedRoute = '';
  routeSelect.addEventListener('change', () => {
    selectedRoute = routeSelect.value;
    drawPercentiles();
  });
  const root = h(
    'section',
    { class: 'ops', 'aria-label': 'Operations' },
    h('h1', {}, 'Operations'),
    status,
    h('h2', {}, 'Requests'),
    charts.rate,
    charts.p95,
    h('label', {}, 'Percentiles of route ', routeSelect),
    charts.percentiles,
    h(
      'table',
      { 'aria-label': 'Routes' },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          h('th', {}, 'Route'),
          h('th', { class: 'num' }, 'req/s'),
          h('th', { class: 'num' }, 'p50 ms'),
          h('th', { class: 'num' }, 'p95 ms'),
          h('th', { class: 'num' }, 'p99 ms'),
          h('th', { class: 'num' }, '5xx/s'),
        ),
      ),
      routesTable,
    ),
    h('h2', {}, 'Rate limiters'),
    charts.limiters,
    h('h2', {}, 'Circuit breakers'),
    breakersEl,
    charts.failures,
    h('h2', {}, 'Failover targets'),
    h(
      'table',
      { 'aria-label': 'Failover targets' },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          h('th', {}, 'Target'),
          h('th', {}, 'Health'),
          h('th', {}, 'Breaker'),
          h('th', { class: 'num' }, 'retries/s'),
          h('th', { class: 'num' }, 'gave up'),
          h('th', { class: 'num' }, 'budget exhausted'),
        ),
      ),
      targetsTable,
    ),
    cluster.element,
    jobs.element,
    caches.element,
    sms.element,
    mq.element,
    migration.element,
  );
  mount(main, root);

  const plots = {
    rate: lineChart(uPlot, charts.rate, 'Requests per second, by route', 'req/s'),
    p95: lineChart(uPlot, charts.p95, 'Latency p95, by route', 'ms'),
    limiters: lineChart(uPlot, charts.limiters, 'Limiter decisions per second', 'per s'),
    failures: lineChart(uPlot, charts.failures, 'Breaker failure rate', '%'),
    percentiles: lineChart(uPlot, charts.percentiles, 'Latency percentiles', 'ms'),
  };
  const history = {
    times: [],
    rate: new Map(),
    p95: new Map(),
    percentiles: new Map(),
    limiters: new Map(),
    failures: new Map(),
  };
  // A new series gets a null for every earlier time (the current one is already in `times`).
  const push = (map, key, value) => {
    if (!map.has(key))
      map.set(
        key,
        history.times.slice(1).map(() => null),
      );
    map.get(key).push(value);
  };

  let previous;
  const tick = async () => {
    const snap = await api('GET', '/api/admin/ops');
    await cluster.refresh();
    if (previous) {
      const dt = Math.max(0.001, (snap.at - previous.at) / 1000);
      history.times.push(snap.at / 1000);
      const seen = new Set();
      const rows = [];
      for (const r of snap.routes) {
        const key = `${r.method} ${r.route}`;
        const p = before(previous.routes, (x) => x.method === r.method && x.route === r.route);
        const rate = (r.count - (p?.count ?? 0)) / dt;
        const delta = bucketDelta(r, p);
        const [p50, p95, p99] = [0.5, 0.95, 0.99].map((q) => ms(quantile(delta, q)));
        push(history.rate, key, rate);
        push(history.p95, key, p95);
        push(history.percentiles, `${key} p50`, p50);
        push(history.percentiles, `${key} p95`, p95);
        push(history.percentiles, `${key} p99`, p99);
        seen.add(`${key} p50`).add(`${key} p95`).add(`${key} p99`);
        seen.add(key);
        rows.push(
          h(
            'tr',
            { 'data-route': key },
            h('td', {}, key),
            h('td', { class: 'num' }, fmt(rate)),
            h('td', { class: 'num' }, fmt(p50)),
            h('td', { class: 'num' }, fmt(p95)),
            h('td', { class: 'num' }, fmt(p99)),
            h('td', { class: 'num' }, fmt((r.errors - (p?.errors ?? 0)) / dt)),
          ),
        );
      }
      mount(routesTable, rows);
      for (const l of snap.limiters) {
        const p = before(previous.limiters, (x) => x.name === l.name);
        push(history.limiters, `${l.name} allowed`, (l.allowed - (p?.allowed ?? 0)) / dt);
        push(history.limiters, `${l.name} denied`, (l.denied - (p?.denied ?? 0)) / dt);
        seen.add(`${l.name} allowed`).add(`${l.name} denied`);
      }
      for (const b of snap.breakers) {
        const p = before(previous.breakers, (x) => x.name === b.name)?.calls ?? {};
        const d = (k) => (b.calls[k] ?? 0) - (p[k] ?? 0);
        const done = d('success') + d('failure');
        push(history.failures, b.name, done > 0 ? (100 * d('failure')) / done : null);
        seen.add(b.name);
      }
      // Series that vanished from the snapshot still need a point per time.
      for (const map of [
        history.rate,
        history.p95,
        history.percentiles,
        history.limiters,
        history.failures,
      ])
        for (const [key, values] of map) if (!seen.has(key)) values.push(null);
      if (history.times.length > KEEP) {
        history.times.shift();
        for (const map of [
          history.rate,
          history.p95,
          history.percentiles,
          history.limiters,
          history.failures,
        ])
          for (const values of map.values()) values.shift();
      }
      for (const name of ['rate', 'p95', 'limiters', 'failures'])
        plots[name].update(history.times, history[name]);
      const routes = snap.routes.map((r) => `${r.method} ${r.route}`);
      if (routes.join('\n') !== [...routeSelect.options].map((o) => o.value).join('\n')) {
        mount(
          routeSelect,
          routes.map((r) => h('option', { value: r }, r)),
        );
        if (!routes.includes(selectedRoute)) {
          // Default: the busiest route.
          const busiest = snap.routes.reduce((m, r) => (!m || r.count > m.count ? r : m), null);
          selectedRoute = busiest ? `${busiest.method} ${busiest.route}` : '';
        }
        routeSelect.value = selectedRoute;
      }
      drawPercentiles();
    }
    mount(
      breakersEl,
      snap.breakers.map((b) =>
        h(
          'article',
          { class: 'card ops-breaker', 'data-breaker': b.name },
          h('h3', {}, b.name),
          h(
            'p',
            {},
            'State: ',
            h('strong', { class: `state state-${b.state}`, 'data-state': b.state }, b.state),
          ),
          h(
            'p',
            { class: 'hint' },
            Object.entries(b.calls)
              .map(([k, v]) => `${k} ${v}`)
              .join(' · ') || 'no calls yet',
          ),
          h(
            'ol',
            { class: 'transitions', 'aria-label': `Transitions of ${b.name}` },
            b.transitions
              .slice()
              .reverse()
              .map((t) =>
                h(
                  'li',
                  {},
                  `${new Date(t.at).toLocaleTimeString()} ${t.from} → ${t.to} (${t.reason})`,
                ),
              ),
          ),
        ),
      ),
    );
    mount(
      targetsTable,
      snap.targets.map((t) => {
        const p = before(previous?.targets ?? [], (x) => x.name === t.name);
        return h(
          'tr',
          { 'data-target': t.name },
          h('td', {}, t.name),
          h('td', { class: `state state-${t.state}` }, HEALTH[t.state] ?? t.state),
          h('td', {}, `${t.breaker}: ${t.state}`),
          h(
            'td',
            { class: 'num' },
            previous
              ? fmt(
                  (t.retries - (p?.retries ?? 0)) / Math.max(0.001, (snap.at - previous.at) / 1000),
                )
              : '–',
          ),
          h('td', { class: 'num' }, String(t.giveUps)),
          h('td', { class: 'num' }, String(t.budgetExhausted)),
        );
      }),
    );
    jobs.update(snap);
    caches.update(snap, previous);
    sms.update(snap);
    mq.update(snap);
    migration.update(snap);
    status.textContent = `Updated ${new Date(snap.at).toLocaleTimeString()}`;
    previous = snap;
  };
  function drawPercentiles() {
    const series = new Map();
    for (const q of ['p50', 'p95', 'p99']) {
      const values = history.percentiles.get(`${selectedRoute} ${q}`);
      if (values) series.set(q, values);
    }
    if (series.size > 0) plots.percentiles.update(history.times, series);
  }
  function before(list, key) {
    return list.find((x) => key(x));
  }

  let timer;
  const loop = async () => {
    if (!document.body.contains(root)) return; // navigated away
    try {
      await tick();
    } catch (err) {
      status.textContent = `Could not load: ${err.message}`;
    }
    timer = setTimeout(loop, POLL_MS);
  };
  clearTimeout(timer);
  await loop();
}
