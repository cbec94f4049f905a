// Every event plangate logs, with its stable code, its level and what it means: the one catalogue the
// loggers, the metrics and the table in docs/operations.md ("Event codes") are made from. A code is
// added here or nowhere: the logger's type accepts these codes only, each at its own level, and
// test/events.test.ts fails when the docs table is not this catalogue.

export type EventLevel = 'info' | 'warn' | 'error';

/** The Prometheus counter an event increments (src/ops/metrics.ts), labelled by its code (or its `reason` field). */
export type EventMetric = 'store-errors' | 'workflow-errors' | 'jwt-rejections';

interface EventInfo {
  level: EventLevel;
  description: string;
  metric?: EventMetric;
}

export const EVENTS = {
  request: { level: 'info', description: 'one gateway request or websocket upgrade finished (the fields are in "Logs" above)' },
  'api-request': { level: 'info', description: 'one request to the decision API on its own listener finished (the fields are in "Logs" above)' },

  'config-reloaded': { level: 'info', description: 'a config reload was applied (`trigger`: sighup, file-change, manual)' },
  'config-reload-refused': {
    level: 'error',
    description: 'a reload was refused; `reason` is the whole config error or the change that needs a restart. The running config keeps serving',
  },
  'config-warning': { level: 'warn', description: 'a reloaded config loads but probably does not do what was meant (the same warnings `validate` prints)' },
  'config-watch-failed': { level: 'warn', description: 'a config directory could not be watched (SIGHUP still reloads)' },
  'shutdown-deadline': { level: 'warn', description: 'requests were still open at the drain deadline and were cut' },
  'worker-started': { level: 'info', description: 'with `server.workers` above 1, a worker process is listening (`worker`, `pid`)' },
  'worker-exited': {
    level: 'error',
    description: 'a worker process ended without being asked to (`worker`, `pid`, `exitCode`, `signal`); the primary starts another after a second',
  },
  'worker-restarts-exhausted': {
    level: 'error',
    description: 'workers kept dying (5 restarts within a minute): the primary drains the others and exits 1 for its supervisor to act',
  },
  'workers-reload': { level: 'info', description: 'the primary passed a reload to its workers (`trigger`, `applied`, `refused`); each worker logs its own outcome' },

  'store-timeout': { level: 'error', description: 'a meter-store call got no answer in time; the failure policy applied', metric: 'store-errors' },
  'store-unreachable': { level: 'error', description: 'a meter-store call found no connection; the failure policy applied', metric: 'store-errors' },
  'store-error': { level: 'error', description: 'a meter-store call failed otherwise; the failure policy applied', metric: 'store-errors' },
  'store-connection-error': { level: 'warn', description: 'the Redis connection reported an error (`code`)' },
  'store-connection-lost': { level: 'warn', description: 'the Redis connection closed; it reconnects with backoff' },
  'store-reconnecting': { level: 'warn', description: 'three stalls in a row on a connection that looked ready: it is dropped and made again' },
  'store-ready': { level: 'info', description: 'the Redis connection is ready' },
  'store-memory-high': { level: 'warn', description: "Redis's memory reached 90 % of `maxmemory`" },
  'store-memory-ok': { level: 'info', description: "Redis's memory fell back below 90 % of `maxmemory`" },
  'decision-shed': { level: 'warn', description: 'at most once a second while requests are refused for load (`shed` since the last line, `pending`, `limit`)' },
  'anonymous-budget-spent': {
    level: 'warn',
    description: 'at most once a second while cookie-less visitors are metered by network because the new-id budget is spent (`refused` since the last line)',
  },

  'jwt-rejected': {
    level: 'info',
    description: 'a token was rejected (`reason`, also when the answer came from the cache of recent rejections)',
    metric: 'jwt-rejections',
  },
  'gateway-jwt-invalid': {
    level: 'info',
    description: 'at the gateway, a cookie or Bearer token failed (`source`, `reason`); the visitor continues anonymous unless `invalidJwt: reject`',
  },
  'jwt-fallback-anonymous': { level: 'info', description: 'the API gave a new anonymous id for an invalid token (`createAnonymousIdentifierFallback`)' },
  'anonymous-id-fallback': {
    level: 'info',
    description: 'the API gave a new anonymous id for one this server did not sign (`createAnonymousIdentifierFallback`)',
  },
  'jwt-key-unusable': { level: 'error', description: "a configured key fits none of the integration's algorithms, or a secret is too short: it is never used" },
  'jwks-updated': { level: 'info', description: 'a JWK Set was fetched and its keys changed (`generation`)' },
  'jwks-fetch-failed': { level: 'warn', description: 'a JWK Set fetch failed; the last good set stays in use' },

  'workflow-error': { level: 'error', description: 'a workflow threw; the decision went on without it (degraded)', metric: 'workflow-errors' },
  'workflow-timeout': { level: 'error', description: 'a workflow ran out of its time budget; its handles were revoked', metric: 'workflow-errors' },
  'workflow-bad-result': {
    level: 'error',
    description: 'a surface workflow returned something other than `{ properties?, http? }`',
    metric: 'workflow-errors',
  },
  'workflow-output-malformed': {
    level: 'error',
    description:
      "a workflow's `surfaceBehavior.http` or a component's `content`/`properties` is not what the wire format allows (`problems`, each with its key path); it was dropped and the decision marked degraded",
    metric: 'workflow-errors',
  },
  'provisioning-bad-result': {
    level: 'error',
    description: 'a provisioning workflow returned something other than a list of plan slugs',
    metric: 'workflow-errors',
  },
  'provisioning-unknown-plan': { level: 'warn', description: 'provisioning named a plan the config does not declare; it was left out' },

  'gateway-path-rejected': { level: 'info', description: 'a request target refused by canonicalisation (400, `reason`)' },
  'gateway-decision-failed': { level: 'error', description: 'the engine failed on a gateway request (500): a bug, please report it' },
  'gateway-internal-error': { level: 'error', description: 'the gateway failed on a request (500) and kept serving: a bug, please report it' },
  'invalid-http-behavior': {
    level: 'warn',
    description: "a workflow's `surfaceBehavior.http` had a value that cannot be sent (a bad header, status or cookie); it was left out",
  },
  'would-deny': {
    level: 'info',
    description: 'on a report-only route (`enforce: false`), a request the decision would have denied was forwarded (`route`, `feature`, `reason`; counted in `plangate_would_deny_total`)',
  },
  'decision-header-too-large': { level: 'warn', description: 'the whole-decision header would pass 8 KB and was left out' },
  'header-encoding-failed': { level: 'warn', description: 'a value could not be encoded into its upstream header; the header was left out' },
  'upstream-unreachable': { level: 'error', description: 'the upstream refused or dropped the connection (502)' },
  'upstream-timeout': { level: 'warn', description: 'the upstream sent no response head within `headerTimeoutMs` (504)' },
  'upstream-idle-timeout': { level: 'warn', description: 'a streaming response was silent for `idleTimeoutMs` and was cut' },
  'soft-denial-replaced': {
    level: 'warn',
    description:
      'a soft-denied page could not be cut (`reason`: status, not-html, encoding, no-cut, marker-missing, no-match, hold-limit, ...; `component`, `detail`) and got the hard denial instead',
  },
  'component-problems': { level: 'info', description: 'a page went out with some components not applied (`problems`: component and reason each)' },
  'component-stream-failed': {
    level: 'warn',
    description: 'a transformed page failed after its head went out (a later element without its fromMarker, a corrupt body) and its connection was cut',
  },
  'websocket-limit': { level: 'warn', description: 'a client network reached `websockets.maxPerClient` open websockets (429)' },

  'forward-auth-bad-request': { level: 'warn', description: "a decision request lacked the original method or target (400, `proxy`, `missing`)" },
  'forward-auth-untrusted-peer': { level: 'warn', description: 'a decision request came from an address not in `forwardAuth.proxies` (403, `peer`)' },
  'forward-auth-unsupported': {
    level: 'error',
    description: 'a verdict the proxy cannot carry out was refused (500, `proxy`, `reason`: http-modify, components, answer-2xx, denial-too-large)',
  },
  'denial-token-invalid': { level: 'warn', description: "nginx's denial location got a missing, altered or expired denial token (500)" },

  'admin-action': {
    level: 'info',
    description: 'an admin API or CLI action changed something (`who`: the key name or `cli:<user>`, `action`, the visitor, `at`)',
  },
  'api-internal-error': { level: 'error', description: 'the decision API failed on a request (500): a bug, please report it' },
} as const satisfies Record<string, EventInfo>;

export type EventCode = keyof typeof EVENTS;

/** The level a code is logged at: fixed by the catalogue, checked by the compiler at every call. */
export type LevelOf<C extends EventCode> = (typeof EVENTS)[C]['level'];

/** The one logger shape: structured events with a stable code. Fields never hold tokens, cookies or secrets. */
export interface EventLogger {
  event<C extends EventCode>(level: LevelOf<C>, code: C, fields?: Record<string, unknown>): void;
}

/** The codes that feed one metric, in catalogue order. */
export function codesOf(metric: EventMetric): EventCode[] {
  return (Object.keys(EVENTS) as EventCode[]).filter((code) => (EVENTS[code] as EventInfo).metric === metric);
}

/** The Markdown table of every code, as docs/operations.md carries it. */
export function eventTable(): string {
  const rows = (Object.keys(EVENTS) as EventCode[]).map((code) => {
    const { level, description, metric } = EVENTS[code] as EventInfo;
    return `| \`${code}\` | ${level} | ${description}${metric === undefined ? '' : ` (counted in \`plangate_${metric.replace('-', '_')}_total\`)`} |`;
  });
  return ['| code | level | meaning |', '|---|---|---|', ...rows].join('\n');
}
