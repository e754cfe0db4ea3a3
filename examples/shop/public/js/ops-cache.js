// Ops panel for girder/cache: hit ratio per cache and layer, since start and over the
// last poll (L1 is this instance's memory, L2 the shared Redis store).
import { h, mount } from './dom.js';

const pct = (v) => (v === null || v === undefined ? '–' : `${(100 * v).toFixed(1)} %`);

export function cachePanel() {
  const body = h('tbody');
  return {
    element: h(
      'section',
      { class: 'ops-cache', 'aria-label': 'Cache' },
      h('h2', {}, 'Cache hit ratio'),
      h(
        'table',
        { 'aria-label': 'Cache hit ratio' },
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            h('th', {}, 'Cache'),
            h('th', {}, 'Layer'),
            h('th', { class: 'num' }, 'Hits'),
            h('th', { class: 'num' }, 'Misses'),
            h('th', { class: 'num' }, 'Hit ratio'),
            h('th', { class: 'num' }, 'Last second'),
          ),
        ),
        body,
      ),
    ),
    update(snap, previous) {
      const caches = snap.caches ?? [];
      mount(
        body,
        caches.length === 0
          ? h('tr', {}, h('td', { colspan: 6, class: 'hint' }, 'no lookups yet'))
          : caches.map((c) => {
              const p = (previous?.caches ?? []).find(
                (x) => x.cache === c.cache && x.layer === c.layer,
              );
              const hits = c.hits - (p?.hits ?? 0);
              const total = hits + c.misses - (p?.misses ?? 0);
              return h(
                'tr',
                { 'data-cache': `${c.cache}/${c.layer}` },
                h('td', {}, c.cache),
                h('td', {}, c.layer.toUpperCase()),
                h('td', { class: 'num' }, String(c.hits)),
                h('td', { class: 'num' }, String(c.misses)),
                h('td', { class: 'num', 'data-ratio': '' }, pct(c.ratio)),
                h('td', { class: 'num' }, p && total > 0 ? pct(hits / total) : '–'),
              );
            }),
      );
    },
  };
}
