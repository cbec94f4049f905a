// Builds the ioredis client for `store.redis`: a URL, a Sentinel group or a Cluster. Every form is set
// up to fail fast (no offline queue, no per-request retries) while reconnecting in the background
// with backoff; the meter store bounds each call by the connection's progress (redis-progress.ts), so
// a meter call is bounded when Redis is down and recovers by itself.
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';

export type RedisClient = Redis | Cluster;

/** `store.redis` (docs/redis.md): exactly one connection form, plus the settings shared by all. */
export interface RedisSettings {
  url?: string;
  sentinels?: readonly { host: string; port: number }[];
  /** The Sentinel master name. */
  name?: string;
  cluster?: readonly { host: string; port: number }[];
  password?: string;
  username?: string;
  tls?: boolean;
  keyPrefix: string;
  commandTimeoutMs: number;
  connectTimeoutMs: number;
}

export const DEFAULT_COMMAND_TIMEOUT_MS = 80;
export const DEFAULT_CONNECT_TIMEOUT_MS = 1_000;
/** How long a Cluster call waits before it retries a TRYAGAIN (a slot half-migrated). */
export const TRYAGAIN_DELAY_MS = 5;
/** Reconnect backoff: 50 ms doubling up to this cap, forever (recovery without a restart). */
export const MAX_RECONNECT_DELAY_MS = 1_000;

/** Which connection form a config names, or null for none (the memory store). */
export type RedisForm = 'url' | 'sentinel' | 'cluster';

export function redisForm(config: Partial<RedisSettings> | undefined): RedisForm | null {
  if (config === undefined) return null;
  const forms: RedisForm[] = [];
  if (config.url !== undefined && config.url.trim() !== '') forms.push('url');
  if (config.sentinels !== undefined) forms.push('sentinel');
  if (config.cluster !== undefined) forms.push('cluster');
  if (forms.length > 1) {
    throw new Error(`store.redis: ${forms.join(' and ')} are both set; choose one connection form: { url }, { sentinels, name } or { cluster: [nodes] }`);
  }
  if (forms[0] === 'sentinel' && (config.name === undefined || config.name === '')) {
    throw new Error('store.redis.name: missing; a Sentinel connection needs the master name, e.g. `name: mymaster`');
  }
  if (forms[0] === 'url' && !/^rediss?:\/\//.test(config.url!.trim())) {
    throw new Error(`store.redis.url: "${config.url}" is not a Redis URL; expected redis://[user:password@]host:port[/db] or rediss://... for TLS`);
  }
  return forms[0] ?? null;
}

function backoff(times: number): number {
  return Math.min(50 * 2 ** Math.min(times, 10), MAX_RECONNECT_DELAY_MS);
}

/** Options shared by every form (for Cluster: the options of each node connection). */
function nodeOptions(config: Partial<RedisSettings>): RedisOptions {
  const options: RedisOptions = {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    // No per-command timeout: a command's age includes the process's own backlog. The meter store
    // bounds calls by the connection's progress instead (redis-progress.ts).
    connectTimeout: config.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
    retryStrategy: backoff,
    // Replies from a reconnected socket must never answer commands sent on the old one.
    autoResendUnfulfilledCommands: false,
    // No auto-pipelining: its per-batch Pipeline objects cost more CPU than the socket writes they
    // save (32 concurrent script calls: 9-10 µs per call without it, 14 with it, at twice the
    // calls/s). The meter store batches writes itself by corking the connection for one event-loop
    // turn (redis.ts). See docs/performance.md.
    enableAutoPipelining: false,
  };
  if (config.password !== undefined) options.password = config.password;
  if (config.username !== undefined) options.username = config.username;
  if (config.tls === true) options.tls = {};
  return options;
}

/** The constructor arguments for each form, separate from construction so tests can check them. */
export function redisClientOptions(
  config: Partial<RedisSettings>,
):
  | { form: 'url'; url: string; options: RedisOptions }
  | { form: 'sentinel'; options: RedisOptions }
  | { form: 'cluster'; nodes: { host: string; port: number }[]; options: ClusterOptions } {
  const form = redisForm(config);
  const base = nodeOptions(config);
  switch (form) {
    case 'url':
      // Fields given explicitly override what the URL says (ioredis fills only missing options from it).
      return { form, url: config.url!.trim(), options: base };
    case 'sentinel':
      return {
        form,
        options: {
          ...base,
          sentinels: config.sentinels!.map((s) => ({ host: s.host, port: s.port })),
          name: config.name!,
          sentinelRetryStrategy: backoff,
          sentinelCommandTimeout: config.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS,
          enableTLSForSentinelMode: config.tls === true,
        },
      };
    case 'cluster': {
      const { retryStrategy: _perNode, enableOfflineQueue: _queue, ...redisOptions } = base;
      return {
        form,
        nodes: config.cluster!.map((n) => ({ host: n.host, port: n.port })),
        options: {
          enableOfflineQueue: false,
          // A slot being migrated answers ASK (go to the target) or TRYAGAIN (the visitor's keys are
          // split between the two nodes for a moment): each costs one redirection, and a slot moved
          // key by key can take several. TRYAGAIN is retried well inside the command timeout, since a
          // call waiting out a retry has no reply coming (docs/redis.md, "Redis Cluster").
          maxRedirections: 8,
          retryDelayOnTryAgain: TRYAGAIN_DELAY_MS,
          retryDelayOnFailover: 20,
          retryDelayOnClusterDown: 20,
          slotsRefreshTimeout: config.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
          clusterRetryStrategy: backoff,
          redisOptions,
        },
      };
    }
    case null:
      throw new Error('store.redis: no connection given; set url, sentinels + name, or cluster');
  }
}

export function createRedisClient(config: Partial<RedisSettings>): RedisClient {
  const built = redisClientOptions(config);
  switch (built.form) {
    case 'url':
      return new Redis(built.url, built.options);
    case 'sentinel':
      return new Redis(built.options);
    case 'cluster':
      return new Cluster(built.nodes, built.options);
  }
}
