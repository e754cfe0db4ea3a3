// Ops panels for girder/jobs and girder/lock: who leads the background jobs (from this
// instance's point of view), the locks this instance holds, and each scheduled job's
// last run and next one.
import { h, mount } from './dom.js';

const time = (ms) => (ms === null || ms === undefined ? '–' : new Date(ms).toLocaleTimeString());
const duration = (ms) => (ms === null || ms === undefined ? '–' : `${ms.toFixed(0)} ms`);

/** The panel's elements; `update(snap)` redraws them from one ops snapshot. */
export function jobsPanel() {
  const leaders = h('tbody');
  const locks = h('tbody');
  const jobs = h('tbody');
  const table = (label, heads, body) =>
    h(
      'table',
      { 'aria-label': label },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          heads.map((t) => h('th', {}, t)),
        ),
      ),
      body,
    );
  return {
    element: h(
      'section',
      { class: 'ops-jobs', 'aria-label': 'Jobs and locks' },
      h('h2', {}, 'Leaders'),
      table('Leaders', ['Election', 'This instance', 'Term', 'Leading since'], leaders),
      h('h2', {}, 'Held locks'),
      table('Held locks', ['Key', 'Fence', 'Held since', 'Renewals'], locks),
      h('h2', {}, 'Job runs'),
      table(
        'Job runs',
        ['Job', 'Last result', 'Duration', 'Last run', 'Next run', 'Runs here'],
        jobs,
      ),
    ),
    update(snap) {
      mount(
        leaders,
        (snap.leaders ?? []).map((l) =>
          h(
            'tr',
            { 'data-election': l.name },
            h('td', {}, l.name),
            h(
              'td',
              { 'data-role': l.leader ? 'leader' : 'follower' },
              l.leader ? 'leader' : 'follower',
            ),
            h('td', {}, l.term === null ? '–' : String(l.term)),
            h('td', {}, time(l.since)),
          ),
        ),
      );
      const held = snap.locks ?? [];
      mount(
        locks,
        held.length === 0
          ? h('tr', {}, h('td', { colspan: 4, class: 'hint' }, 'none held by this instance'))
          : held.map((l) =>
              h(
                'tr',
                { 'data-lock': l.key },
                h('td', {}, l.key),
                h('td', {}, String(l.fence)),
                h('td', {}, time(l.since)),
                h('td', {}, String(l.renewals)),
              ),
            ),
      );
      mount(
        jobs,
        (snap.jobs ?? []).map((j) =>
          h(
            'tr',
            { 'data-job': j.name },
            h('td', {}, j.name),
            h(
              'td',
              { 'data-result': j.lastResult ?? '' },
              j.running ? 'running' : (j.lastResult ?? '–'),
            ),
            h('td', {}, duration(j.lastDurationMs)),
            h('td', {}, time(j.lastRunAt)),
            h('td', {}, time(j.nextRunAt)),
            h(
              'td',
              {},
              Object.entries(j.runs)
                .map(([k, v]) => `${k} ${v}`)
                .join(' · ') || 'none',
            ),
          ),
        ),
      );
    },
  };
}
