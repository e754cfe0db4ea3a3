// Ops panel for girder/mq: per consumer group, lag, pending deliveries and what this
// instance processed, failed and dead-lettered; and the outbox backlog.
import { h, mount } from './dom.js';

const num = (v) => (v === null || v === undefined ? '–' : String(v));

export function mqPanel() {
  const body = h('tbody');
  const backlog = h('p', { class: 'hint', 'data-outbox': '' }, 'Outbox backlog: –');
  return {
    element: h(
      'section',
      { class: 'ops-mq', 'aria-label': 'Messaging' },
      h('h2', {}, 'Messaging'),
      backlog,
      h(
        'table',
        { 'aria-label': 'Consumer groups' },
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            h('th', {}, 'Topic'),
            h('th', {}, 'Group'),
            h('th', { class: 'num' }, 'Lag'),
            h('th', { class: 'num' }, 'Pending'),
            h('th', { class: 'num' }, 'Processed'),
            h('th', { class: 'num' }, 'Failed'),
            h('th', { class: 'num' }, 'Dead letters'),
          ),
        ),
        body,
      ),
    ),
    update(snap) {
      const mq = snap.mq;
      if (!mq) return;
      backlog.textContent = `Outbox backlog: ${num(mq.outboxBacklog)} (queue: ${mq.backend})`;
      mount(
        body,
        mq.groups.length === 0
          ? h('tr', {}, h('td', { colspan: 7, class: 'hint' }, 'no consumers'))
          : mq.groups.map((g) =>
              h(
                'tr',
                { 'data-group': `${g.topic}/${g.group}` },
                h('td', {}, g.topic),
                h('td', {}, g.group),
                h('td', { class: 'num' }, num(g.lag)),
                h('td', { class: 'num' }, num(g.pending)),
                h('td', { class: 'num' }, num(g.processed)),
                h('td', { class: 'num' }, num(g.failed)),
                h('td', { class: 'num' }, num(g.deadLettered)),
              ),
            ),
      );
    },
  };
}
