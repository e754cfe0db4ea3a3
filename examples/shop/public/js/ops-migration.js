// Ops panel for the live migration of `orders` (girder/migrator): the phase and its gate,
// a button per phase switch (a refused switch shows why), validation progress and diff
// counts with start/stop, the fixer's totals with a button to run it, the repair-log
// backlog and the switch log. The buttons call /api/admin/migration (the control plugin).
import { api } from './api.js';
import { h, mount } from './dom.js';

const PHASES = ['source-only', 'source-first', 'target-first', 'target-only'];
const BASE = '/api/admin/migration';
const num = (v) => (v === null || v === undefined ? '–' : String(v));
const time = (ms) => (ms === null || ms === undefined ? '–' : new Date(ms).toLocaleTimeString());
const REASONS = {
  'not-validated': 'needs a completed full validation since the last switch',
  differences: 'the last validation found differences: run the fixer, then validate again',
  'validation-running': 'a validation is running',
  'not-adjacent': 'one phase at a time',
  'stale-source': 'the main database missed every write since target-only',
};

export function migrationPanel() {
  const summary = h('p', { 'data-migration-phase': '' }, 'Phase: –');
  const gate = h('p', { class: 'hint', 'data-migration-gate': '' });
  const message = h('p', { role: 'status', 'data-migration-message': '' });
  const switches = h('div', { class: 'ops-migration-switches' });
  const force = h('input', { type: 'checkbox', name: 'force' });
  const validation = h('p', { 'data-migration-validation': '' }, 'No validation yet.');
  const fixes = h('p', { 'data-migration-fixes': '' });
  const log = h('tbody');
  const body = h('div', {});
  let latest;

  const act = async (label, method, path, payload) => {
    message.textContent = `${label}…`;
    message.className = '';
    try {
      const result = await api(method, `${BASE}${path}`, payload);
      message.textContent = `${label}: done`;
      if (latest && result?.phase) {
        latest = {
          ...latest,
          phase: result.phase,
          gate: { ...result.gate, reason: result.gate.reason ?? null },
        };
        render(latest);
      }
      return result;
    } catch (err) {
      // A gate refusal's message names the reason and what to do (409 from the plugin).
      message.textContent = `${label} refused: ${err.message}`;
      message.className = 'bad';
      return undefined;
    }
  };

  const render = (m) => {
    latest = m;
    if (!m.enabled) {
      mount(
        body,
        h(
          'p',
          { class: 'hint' },
          'Off. Start the shop with SHOP_MIGRATION=1 (or SHOP_MIGRATION_TARGET_URL) to move the orders table to a second database from here.',
        ),
      );
      return;
    }
    summary.textContent = `Phase: ${m.phase} (orders → ${m.target})`;
    gate.textContent =
      m.gate.next === null
        ? 'Last phase reached: the main database no longer receives orders.'
        : m.gate.open
          ? `Gate to ${m.gate.next}: open`
          : `Gate to ${m.gate.next}: closed, ${REASONS[m.gate.reason] ?? m.gate.reason}`;
    mount(
      switches,
      PHASES.map((p) =>
        h(
          'button',
          {
            type: 'button',
            class: p === m.phase ? '' : 'secondary',
            'data-phase': p,
            disabled: p === m.phase,
            onclick: () => act(`Switch to ${p}`, 'POST', '/phase', { to: p, force: force.checked }),
          },
          p === m.phase ? `${p} (now)` : `Switch to ${p}`,
        ),
      ),
    );
    const v = m.validation;
    const last = m.lastValidation;
    validation.textContent = v
      ? `Validating: ${v.rowsDone} of ${num(v.estimatedRows)} rows, ${v.differences} differences so far, ETA ${
          v.etaMs === null ? '–' : `${Math.ceil(v.etaMs / 1000)} s`
        }`
      : last
        ? `Last validation (${last.mode}, ${last.status} at ${time(last.finishedAt)}): ${last.rowsChecked} rows, ` +
          `${last.differences} differences (missing ${last.missing}, extra ${last.extra}, changed ${last.changed})`
        : 'No validation since the last switch.';
    fixes.textContent =
      `Fixes applied: ${m.fixes.copied} copied, ${m.fixes.deleted} deleted, ${m.fixes.skipped} skipped, ` +
      `${m.fixes.failed} failed (${m.fixes.runs} runs). Repair-log backlog: ${num(m.repairBacklog)}. ` +
      `Failed copies on this instance: ${m.secondaryFailures}.`;
    mount(
      log,
      m.switches.length === 0
        ? h('tr', {}, h('td', { colspan: 4, class: 'hint' }, 'no switches yet'))
        : m.switches.map((s) =>
            h(
              'tr',
              {},
              h('td', {}, time(s.at)),
              h('td', {}, `${s.from} → ${s.to}`),
              h('td', {}, s.forced ? 'forced' : 'gated'),
              h('td', {}, s.by ?? '–'),
            ),
          ),
    );
    mount(
      body,
      summary,
      gate,
      switches,
      h('label', {}, force, ' Force (override the gate; logged)'),
      message,
      validation,
      h(
        'div',
        {},
        h(
          'button',
          {
            type: 'button',
            class: 'secondary',
            onclick: () => act('Start validation', 'POST', '/validation'),
          },
          'Start validation',
        ),
        ' ',
        h(
          'button',
          {
            type: 'button',
            class: 'secondary',
            onclick: () => act('Stop validation', 'DELETE', '/validation'),
          },
          'Stop validation',
        ),
        ' ',
        h(
          'button',
          { type: 'button', class: 'secondary', onclick: () => act('Run fixer', 'POST', '/fix') },
          'Run fixer',
        ),
      ),
      fixes,
      h(
        'table',
        { 'aria-label': 'Phase switches' },
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            h('th', {}, 'At'),
            h('th', {}, 'Switch'),
            h('th', {}, 'Kind'),
            h('th', {}, 'By'),
          ),
        ),
        log,
      ),
    );
  };

  return {
    element: h(
      'section',
      { class: 'ops-migration', 'aria-label': 'Live migration' },
      h('h2', {}, 'Live migration (orders)'),
      body,
    ),
    update(snap) {
      if (snap.migration) render(snap.migration);
    },
  };
}
