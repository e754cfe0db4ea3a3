// The metric names and labels the ops page reads: girder/observability's (see
// docs/observability.md) and prom-client's. Label lists are tried in order.

export const OPS_METRICS = {
  http: {
    duration: 'http_server_request_duration_seconds',
    method: ['http_request_method', 'method'],
    route: ['http_route', 'route'],
    status: ['http_response_status_code', 'status_code', 'status'],
  },
  limiter: {
    decisions: 'girder_ratelimit_decisions_total',
    name: ['name', 'limiter'],
    outcome: ['outcome', 'kind'],
    allowed: ['allowed', 'allow'],
    denied: ['denied', 'deny'],
  },
  breaker: {
    state: 'girder_breaker_state',
    calls: 'girder_breaker_calls_total',
    name: ['name', 'breaker'],
    stateLabel: ['state'],
    outcome: ['outcome', 'kind'],
  },
  retry: {
    retries: 'girder_retry_attempts_total',
    giveUps: 'girder_retry_giveups_total',
    budgetExhausted: 'girder_retry_budget_exhausted_total',
    name: ['name', 'target'],
  },
} as const;
