// Prometheus metrics for the ops port (prom-client). Fed from two places: the gateway's per-request
// summaries (GatewayObserver) and the engine's events (an EventLogger wrapper), so the pipeline
// itself never touches a metric. One registry per process, not prom-client's global one, so tests
// can run several gateways side by side.
import { codesOf, EVENTS, type EventLogger, type EventMetric } from '../events.js';
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type { GatewayObserver, RequestSummary } from '../gateway/observer.js';
import { LatencyHistogram } from './latency-histogram.js';

// Latency buckets in seconds: decisions are sub-millisecond in memory and a few ms over Redis;
// upstream answers span milliseconds to the header timeout.
const DECISION_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];
const UPSTREAM_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export type ReloadResult = 'applied' | 'refused';

export class Metrics implements GatewayObserver {
  readonly registry = new Registry();
  private readonly requests: Counter<'route' | 'outcome' | 'status_class'>;
  private readonly denials: Counter<'route' | 'feature'>;
  private readonly apiRequests: Counter<'endpoint' | 'status_class'>;
  private readonly wouldDeny: Counter<'route' | 'feature' | 'reason'>;
  private readonly decisionSeconds: LatencyHistogram;
  private readonly upstreamSeconds: LatencyHistogram;
  private readonly storeErrors: Counter<'code'>;
  private readonly workflowErrors: Counter<'code'>;
  private readonly jwtRejections: Counter<'reason'>;
  private readonly reloads: Counter<'result'>;
  private readonly lastReload: Gauge<'result'>;
  private readonly requestCounters = new Map<string, { inc(): void }>();
  private readonly denialCounters = new Map<string, { inc(): void }>();

  constructor(
    options: {
      storeReady?: () => boolean;
      storeCalls?: () => number;
      /** The process's decisions in progress and shed (engine/load.ts). */
      load?: () => { pending: number; shed: number };
      /** Redis's memory, asked at each scrape (engine/meters/redis.ts). */
      storeMemory?: () => Promise<{ usedBytes: number; maxBytes: number } | null>;
      /** New anonymous ids allowed and refused by the flood budget (engine/identity/new-ids.ts). */
      newIds?: () => { allowed: number; refused: number };
      defaultMetrics?: boolean;
    } = {},
  ) {
    const registers = [this.registry];
    this.requests = new Counter({
      name: 'plangate_requests_total',
      help: 'Gateway requests by matched route pattern, outcome and the status class the client got (2xx ... 5xx; none: no response head)',
      labelNames: ['route', 'outcome', 'status_class'],
      registers,
    });
    this.denials = new Counter({
      name: 'plangate_denials_total',
      help: 'Gateway denials (paywall, redirect or forwarded denial) by route pattern and the feature refused',
      labelNames: ['route', 'feature'],
      registers,
    });
    this.apiRequests = new Counter({
      name: 'plangate_api_requests_total',
      help: "Decision API requests on its own listener by endpoint (- for no such endpoint) and status class",
      labelNames: ['endpoint', 'status_class'],
      registers,
    });
    this.wouldDeny = new Counter({
      name: 'plangate_would_deny_total',
      help: 'Requests on report-only routes (enforce: false) the decision would have denied, by route, feature and reason',
      labelNames: ['route', 'feature', 'reason'],
      registers,
    });
    this.decisionSeconds = new LatencyHistogram(
      'plangate_decision_duration_seconds',
      'Time to decide a gateway request (identity, meters, workflows)',
      DECISION_BUCKETS,
      this.registry,
    );
    this.upstreamSeconds = new LatencyHistogram(
      'plangate_upstream_duration_seconds',
      'Time from forwarding to the upstream response head',
      UPSTREAM_BUCKETS,
      this.registry,
    );
    this.storeErrors = new Counter({
      name: 'plangate_store_errors_total',
      help: 'Failed meter store calls by code (store-timeout, store-unreachable, store-error)',
      labelNames: ['code'],
      registers,
    });
    this.workflowErrors = new Counter({
      name: 'plangate_workflow_errors_total',
      help: 'Workflow failures by code (workflow-error, workflow-timeout, ...)',
      labelNames: ['code'],
      registers,
    });
    this.jwtRejections = new Counter({ name: 'plangate_jwt_rejections_total', help: 'Rejected JWTs by reason', labelNames: ['reason'], registers });
    this.reloads = new Counter({
      name: 'plangate_config_reloads_total',
      help: 'Config reloads by result (applied, refused)',
      labelNames: ['result'],
      registers,
    });
    this.lastReload = new Gauge({
      name: 'plangate_config_last_reload_timestamp_seconds',
      help: 'Unix time of the last reload attempt by result',
      labelNames: ['result'],
      registers,
      // With worker processes the primary aggregates: the latest, not a sum of timestamps.
      aggregator: 'max',
    });
    // Known label values start at 0, so a rate() over them exists before the first failure.
    for (const code of codesOf('store-errors')) this.storeErrors.inc({ code }, 0);
    for (const code of codesOf('workflow-errors')) this.workflowErrors.inc({ code }, 0);
    for (const result of ['applied', 'refused'] as const) this.reloads.inc({ result }, 0);
    const storeReady = options.storeReady;
    if (storeReady) {
      new Gauge({
        name: 'plangate_store_ready',
        help: '1 when the meter store is connected and ready, else 0 (with workers: 1 only when every worker is)',
        registers,
        aggregator: 'min',
        collect() {
          this.set(storeReady() ? 1 : 0);
        },
      });
    }
    const storeCalls = options.storeCalls;
    if (storeCalls) {
      // Read from the store's own count at each scrape (it survives reloads, and nothing counts twice).
      countedFrom(
        'plangate_store_calls_total',
        'Meter-store round trips sent since start (one Redis script call each; 0 for the in-memory store)',
        storeCalls,
        registers,
      );
    }
    const load = options.load;
    if (load) {
      new Gauge({
        name: 'plangate_decisions_pending',
        help: 'Decisions in progress in this process (503 with Retry-After beyond server.maxPendingDecisions)',
        registers,
        collect() {
          this.set(load().pending);
        },
      });
      countedFrom(
        'plangate_decisions_shed_total',
        'Decisions refused with 503 since start because server.maxPendingDecisions were in progress',
        () => load().shed,
        registers,
      );
    }
    const storeMemory = options.storeMemory;
    if (storeMemory) {
      // One INFO per scrape for both gauges.
      let reading: Promise<{ usedBytes: number; maxBytes: number } | null> | undefined;
      const read = () => (reading ??= storeMemory().finally(() => setImmediate(() => (reading = undefined))));
      new Gauge({
        name: 'plangate_store_memory_used_bytes',
        help: "Redis's used_memory (for a Cluster, of the fullest primary); not updated while Redis does not answer",
        registers,
        aggregator: 'max',
        async collect() {
          const m = await read();
          if (m) this.set(m.usedBytes);
        },
      });
      new Gauge({
        name: 'plangate_store_memory_max_bytes',
        help: "Redis's maxmemory (0: no limit); alert on used / max (docs/redis.md, Anonymous floods)",
        registers,
        aggregator: 'max',
        async collect() {
          const m = await read();
          if (m) this.set(m.maxBytes);
        },
      });
    }
    const newIds = options.newIds;
    if (newIds) {
      countedFrom(
        'plangate_anonymous_ids_refused_total',
        'Cookie-less visitors metered by network because the new-id budget (gateway.newAnonymousIds) was spent',
        () => newIds().refused,
        registers,
      );
    }
    if (options.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry });
  }

  /** GatewayObserver: one summary per finished request. */
  requestDone(summary: RequestSummary): void {
    const statusClass = statusClassOf(summary.status);
    const key = `${summary.route}\u0000${summary.outcome}\u0000${statusClass}`;
    let counter = this.requestCounters.get(key);
    if (counter === undefined) {
      // One labelled child per route, outcome and status class (a handful), so a request skips label hashing.
      counter = this.requests.labels({ route: summary.route, outcome: summary.outcome, status_class: statusClass });
      this.requestCounters.set(key, counter);
    }
    counter.inc();
    if (summary.outcome === 'denied') {
      const feature = summary.deniedFeature ?? '-';
      const denialKey = `${summary.route}\u0000${feature}`;
      let denials = this.denialCounters.get(denialKey);
      if (denials === undefined) {
        denials = this.denials.labels({ route: summary.route, feature });
        this.denialCounters.set(denialKey, denials);
      }
      denials.inc();
    }
    if (summary.wouldDeny !== undefined) this.wouldDeny.inc({ route: summary.route, feature: summary.wouldDeny.feature, reason: summary.wouldDeny.reason });
    if (summary.decisionMs !== undefined) this.decisionSeconds.observe(summary.decisionMs / 1000);
    if (summary.upstreamMs !== undefined) this.upstreamSeconds.observe(summary.upstreamMs / 1000);
  }

  /** One decision API request on its own listener (ops/api-access-log.ts). */
  apiRequestDone(endpoint: string, status: number): void {
    this.apiRequests.inc({ endpoint, status_class: statusClassOf(status) });
  }

  reloaded(result: ReloadResult): void {
    this.reloads.inc({ result });
    this.lastReload.set({ result }, Date.now() / 1000);
  }

  /** Wraps an EventLogger: counts the events the catalogue ties to a metric, then passes every event on. */
  engineEvents(inner?: EventLogger): EventLogger {
    return {
      event: (level, code, fields) => {
        const metric: EventMetric | undefined = (EVENTS[code] as { metric?: EventMetric }).metric;
        if (metric === 'jwt-rejections') this.jwtRejections.inc({ reason: String(fields?.reason ?? 'unknown') });
        else if (metric === 'store-errors') this.storeErrors.inc({ code });
        else if (metric === 'workflow-errors') this.workflowErrors.inc({ code });
        inner?.event(level, code, fields);
      },
    };
  }

  contentType(): string {
    return this.registry.contentType;
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }
}

/** `2xx` … `5xx` for a status, `none` when no response head was written (status 0). */
export function statusClassOf(status: number): string {
  return status >= 100 && status < 600 ? STATUS_CLASSES[Math.floor(status / 100)] : 'none';
}
const STATUS_CLASSES = ['none', '1xx', '2xx', '3xx', '4xx', '5xx'];

/**
 * A counter whose value is a count kept elsewhere (the store's calls, the shed decisions): at each
 * scrape it is advanced to that count, so it is exposed with the counter type and never goes down.
 */
function countedFrom(name: string, help: string, read: () => number, registers: Registry[]): void {
  let seen = 0;
  new Counter({
    name,
    help,
    registers,
    collect() {
      const now = read();
      if (now > seen) {
        this.inc(now - seen);
        seen = now;
      }
    },
  });
}
