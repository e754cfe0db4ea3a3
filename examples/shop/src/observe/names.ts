// The metric names and labels the ops page reads: girder/observability's (see
// docs/observability.md, default prefix `girder_`) and its `httpMetrics`. Label lists
// are tried in order.

export const OPS_METRICS = {
  http: {
    duration: 'http_server_request_duration_seconds',
    method: ['http_request_method'],
    route: ['http_route'],
    status: ['http_response_status_code'],
  },
  limiter: {
    decisions: 'girder_ratelimit_decisions_total',
    name: ['name'],
    outcome: ['outcome'],
    allowed: ['allowed'],
    denied: ['denied'],
  },
  breaker: {
    state: 'girder_breaker_state',
    /** Calls by outcome: `kind` is success, failure, rejected or ignored (and state_change, ramp_step). */
    calls: 'girder_breaker_events_total',
    name: ['name'],
    stateLabel: ['state'],
    outcome: ['kind'],
    outcomes: ['success', 'failure', 'rejected', 'ignored'],
  },
  retry: {
    /** `kind` retry or give_up. */
    events: 'girder_retry_events_total',
    kind: ['kind'],
    budgetExhausted: 'girder_retry_budget_exhausted_total',
    name: ['name'],
  },
  cache: {
    /** Labels `name`, `layer` (l1, l2) and `result` (hit, miss). */
    lookups: 'girder_cache_lookups_total',
  },
} as const;
