// Redis meter store: one Lua script per `run` (EVALSHA; ioredis falls back to EVAL and reloads the
// script on NOSCRIPT), so check-and-consume is atomic across any number of gateway processes. Every
// failure becomes a StoreUnavailableError with a stable code; a call is bounded by its connection's
// progress (redis-progress.ts), never by its own age, so a busy process does not fail a healthy Redis.
import { Cluster, type Redis } from 'ioredis';
import calculateSlot from 'cluster-key-slot';
import type { EventLogger } from '../../events.js';
import { createRedisClient, DEFAULT_COMMAND_TIMEOUT_MS, type RedisClient, type RedisSettings } from './redis-connection.js';
import { bucketKey, bucketTtlMs, checkKeyPrefix, grantsKey, newIdKeys, resourceSetKey, visitorTag } from './redis-keys.js';
import { decodeGrant, redisAdmin } from './redis-admin.js';
import { listeningMs } from '../listening.js';
import { ProgressWatch, type Waiter } from './redis-progress.js';
import { METER_SCRIPT, NEW_ID_SCRIPT } from './redis-script.js';
import {
  newIdWindow,
  StoreUnavailableError,
  type StoreFailureCode,
  type ConsumeResult,
  type CounterReading,
  type MeterCall,
  type MeterCallResult,
  type Grant,
  type MeterStore,
  type NewIdRequest,
  type Period,
  type StoreAdmin,
} from './store.js';

export type { StoreFailureCode } from './store.js';

export interface StoreMemory {
  usedBytes: number;
  /** `maxmemory`; 0 when Redis has no limit. */
  maxBytes: number;
  /** usedBytes / maxBytes at or above MEMORY_HIGH. */
  high: boolean;
}

/** The share of `maxmemory` at which readiness and the log say memory is running out (docs/redis.md). */
export const MEMORY_HIGH = 0.9;

/** Readiness and counters for ops (health endpoint, metrics, the benchmark's cross-check). */
export interface StoreHealth {
  /** Connected and ready to take commands. */
  isReady(): boolean;
  /** A PING, bounded like a meter call; never throws. */
  ping(): Promise<boolean>;
  /** Resolves true once connected, false when the first attempt failed or `withinMs` passed (startup). */
  whenReady(withinMs: number): Promise<boolean>;
  /**
   * Redis's memory now (INFO memory; for a Cluster, the fullest primary), or null without Redis or an
   * answer. Asked by /readyz and /metrics, never on the request path. Logs `store-memory-high` when
   * it reaches MEMORY_HIGH of `maxmemory`, and `store-memory-ok` when it falls back below.
   */
  memory(): Promise<StoreMemory | null>;
  /** Failed `run` calls by code since start. */
  failures(): Readonly<Record<StoreFailureCode, number>>;
  /** Top-level script calls (EVALSHA/EVAL) issued by `run`, one per call; NOSCRIPT reloads are not counted. */
  readonly commandCount: number;
}

export interface RedisMeterStoreOptions {
  redis: Partial<RedisSettings>;
  anonymousRetentionDays?: number;
  logger?: EventLogger;
  /** An existing client (tests); otherwise one is built from `redis`. Closed by `close()` either way. */
  client?: RedisClient;
}

interface ScriptInput {
  keys: string[];
  /** The numbers (one JSON array), then the plan names and resource hashes (the layout is in redis-script.ts). */
  argv: string[];
}

/** One flat array (redis-script.ts): integers, and the JSON of each unexpired grant. */
type ScriptReply = (number | string)[];
type MeterScriptClient = RedisClient & {
  plangateMeter(numKeys: number, ...args: string[]): Promise<ScriptReply>;
  plangateNewId(numKeys: number, ...args: string[]): Promise<number>;
};

/** New-id budget counters outlive their window by this much (clock skew between instances). */
const NEW_ID_GRACE_MS = 60_000;

const TIMEOUT = /timed out/i;
const CONNECTION_ERROR =
  /ECONNREFUSED|ECONNRESET|ENOTFOUND|EHOSTUNREACH|ETIMEDOUT|EPIPE|writeable|Connection is closed|closed|MaxRetriesPerRequest|None of .*available|ClusterAllFailed|Failed to refresh slots|CLUSTERDOWN|Too many Cluster redirections/i;

export function failureCode(err: unknown): StoreFailureCode {
  const message = err instanceof Error ? `${err.name} ${err.message}` : String(err);
  if (TIMEOUT.test(message)) return 'store-timeout';
  if (CONNECTION_ERROR.test(message)) return 'store-unreachable';
  return 'store-error';
}

export class RedisMeterStore implements MeterStore {
  readonly kind = 'redis' as const;
  readonly health: StoreHealth;
  readonly admin: StoreAdmin;
  private readonly client: MeterScriptClient;
  private readonly prefix: string;
  private readonly retentionDays: number;
  private readonly timeoutMs: number;
  private readonly logger?: EventLogger;
  private readonly failureCounts: Record<StoreFailureCode, number> = { 'store-timeout': 0, 'store-unreachable': 0, 'store-error': 0 };
  private readonly watches: ConnectionWatches;
  private commands = 0;
  private wasReady = false;
  /** close() was called: the connection going away is not news. */
  private closing = false;

  constructor(options: RedisMeterStoreOptions) {
    this.prefix = checkKeyPrefix(options.redis.keyPrefix ?? 'plangate:');
    this.retentionDays = options.anonymousRetentionDays ?? 400;
    this.timeoutMs = options.redis.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
    this.logger = options.logger;
    const client = options.client ?? createRedisClient(options.redis);
    client.defineCommand('plangateMeter', { lua: METER_SCRIPT });
    client.defineCommand('plangateNewId', { lua: NEW_ID_SCRIPT });
    this.client = client as MeterScriptClient;
    this.watches = new ConnectionWatches(this.client, this.timeoutMs, this.logger);
    this.watchConnection();
    this.admin = redisAdmin(this.client, this.prefix, (work) => this.adminCall(work));
    const store = this;
    this.health = {
      isReady: () => this.client.status === 'ready',
      ping: () => this.ping(),
      whenReady: (withinMs) => this.whenReady(withinMs),
      memory: () => this.memory(),
      failures: () => ({ ...this.failureCounts }),
      get commandCount() {
        return store.commands;
      },
    };
  }

  async run(call: MeterCall): Promise<MeterCallResult> {
    const input = scriptInput(call, this.prefix, this.retentionDays);
    try {
      // Connected (the steady state): the connection's progress bounds the call (redis-progress.ts).
      // Otherwise the wait for a connection is bounded too.
      const raw =
        this.client.status === 'ready'
          ? await this.send(input)
          : await this.bounded(async (expired) => {
              await this.readyOrFail();
              // A connection that came up after the deadline must not apply a call the caller saw fail.
              if (expired()) throw new StoreUnavailableError('store-timeout', `Redis did not answer within ${this.timeoutMs} ms`);
              return this.send(input);
            });
      return decodeResult(raw, call);
    } catch (err) {
      throw this.failed(err);
    }
  }

  /** An admin operation (admin.ts): bounded like a call when not connected; failures become StoreUnavailableError. */
  private async adminCall<T>(work: () => Promise<T>): Promise<T> {
    try {
      return this.client.status === 'ready' ? await work() : await this.bounded(async () => (await this.readyOrFail(), work()));
    } catch (err) {
      throw this.failed(err);
    }
  }

  async allowNewId(request: NewIdRequest): Promise<boolean> {
    const window = newIdWindow(request.now, request.windowMs);
    const keys = newIdKeys(this.prefix, request.networkId, window);
    const keepMs = window + request.windowMs - request.now + NEW_ID_GRACE_MS;
    const args = [String(request.perNetwork), String(request.total), String(keepMs)];
    try {
      const send = () => {
        this.commands++;
        this.corkUntilNextTurn();
        return this.watched(this.client.plangateNewId(2, ...keys, ...args), this.watches.forKey(keys[0]));
      };
      const allowed = this.client.status === 'ready' ? await send() : await this.bounded(async () => (await this.readyOrFail(), send()));
      return allowed === 1;
    } catch (err) {
      throw this.failed(err);
    }
  }

  async close(): Promise<void> {
    this.closing = true;
    this.watches.stop();
    this.client.disconnect();
  }

  /** One script call: the only place a meter command is sent (and counted). */
  private send(input: ScriptInput): Promise<ScriptReply> {
    this.commands++;
    const watch = this.watches.forKey(input.keys[0]);
    this.corkUntilNextTurn();
    return this.watched(this.client.plangateMeter(input.keys.length, ...input.keys, ...input.argv), watch);
  }

  /** A command's promise, failed early by its connection's watch when the connection stalls. */
  private watched<T>(command: Promise<T>, watch: ProgressWatch): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const call = new WatchedCall<T>(watch, resolve, reject);
      command.then(
        (value) => call.answered(value),
        (err: unknown) => call.failed(err),
      );
      watch.add(call);
    });
  }

  /**
   * Concurrent decisions' calls leave in one socket write: the connection is corked at the first call
   * and uncorked by setImmediate (after every request the turn read has had its say) or as soon as
   * CORK_BATCH calls wait, whichever comes first. Without the cap, a burst's calls waited corked
   * through the whole poll phase that read the burst (700 ms for 3,000 requests, measured in
   * docs/redis.md) while Redis sat idle. One write syscall per batch instead of one per call, without
   * ioredis's auto-pipelining machinery (which cost more CPU than it saved, see redis-connection.ts).
   * A single connection only (a Cluster client has one per node). The time a call spends corked is
   * time the process is running, not listening, so it does not count towards the connection's bound.
   */
  private corkUntilNextTurn(): void {
    if (this.corked !== undefined) {
      if (++this.corkedCalls <= CORK_BATCH) return;
      this.uncork();
    }
    if (!('stream' in this.client)) return;
    const stream = this.client.stream;
    if (stream === undefined || stream.destroyed) return;
    stream.cork();
    this.corked = stream;
    this.corkedCalls = 1;
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(this.flush);
    }
  }

  private corked: { uncork(): void } | undefined;
  private corkedCalls = 0;
  private flushScheduled = false;
  private readonly flush = (): void => {
    this.flushScheduled = false;
    this.uncork();
  };
  private uncork(): void {
    const stream = this.corked;
    this.corked = undefined;
    stream?.uncork();
  }

  private async ping(): Promise<boolean> {
    try {
      if (this.client.status === 'ready') await this.watched(this.client.ping(), this.watches.any);
      else
        await this.bounded(async () => {
          await this.readyOrFail();
          return this.client.ping();
        });
      return true;
    } catch {
      return false;
    }
  }

  private memoryWasHigh = false;

  private async memory(): Promise<StoreMemory | null> {
    if (this.client.status !== 'ready') return null;
    try {
      const nodes: { info: Promise<string>; watch: ProgressWatch }[] =
        this.client instanceof Cluster
          ? this.client.nodes('master').map((node) => ({ info: node.info('memory'), watch: this.watches.forNode(`${node.options.host}:${node.options.port}`) }))
          : [{ info: this.client.info('memory'), watch: this.watches.any }];
      const readings = (await Promise.all(nodes.map((n) => this.watched(n.info, n.watch)))).map(parseMemory);
      // The fullest node is the one that refuses writes first.
      const fullest = readings.reduce((a, b) => (share(b) > share(a) ? b : a));
      const high = fullest.maxBytes > 0 && fullest.usedBytes >= MEMORY_HIGH * fullest.maxBytes;
      if (high !== this.memoryWasHigh) {
        this.memoryWasHigh = high;
        const fields = { store: 'redis', usedBytes: fullest.usedBytes, maxBytes: fullest.maxBytes };
        if (high) this.logger?.event('warn', 'store-memory-high', fields);
        else this.logger?.event('info', 'store-memory-ok', fields);
      }
      return { ...fullest, high };
    } catch {
      return null;
    }
  }

  private whenReady(withinMs: number): Promise<boolean> {
    if (this.client.status === 'ready') return Promise.resolve(true);
    return new Promise((resolve) => {
      const settle = (ready: boolean) => {
        clearTimeout(timer);
        this.client.off('ready', onReady);
        this.client.off('close', onFail);
        this.client.off('error', onFail);
        resolve(ready);
      };
      const onReady = () => settle(true);
      const onFail = () => settle(false);
      const timer = setTimeout(onFail, withinMs);
      this.client.on('ready', onReady);
      this.client.on('close', onFail);
      this.client.on('error', onFail);
    });
  }

  /** Bounds the wait for a connection (and what follows it) by the command timeout, on the clock: Redis is not there yet. */
  private bounded<T>(work: (expired: () => boolean) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        reject(new StoreUnavailableError('store-timeout', `Redis did not answer within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      work(() => timedOut).then(
        (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        (err: unknown) => {
          clearTimeout(timer);
          reject(err);
        },
      );
    });
  }

  /**
   * While a connection attempt is under way, wait for it (bounded by the caller); otherwise fail fast.
   * Every call waiting on one attempt shares one pair of listeners (a burst during a reconnect would
   * otherwise add a pair per call).
   */
  private async readyOrFail(): Promise<void> {
    const status = this.client.status;
    if (status === 'ready') return;
    if (status !== 'connecting' && status !== 'connect') throw new StoreUnavailableError('store-unreachable', `Redis is not connected (${status})`);
    this.connecting ??= new Promise<void>((resolve, reject) => {
      const settle = (err?: Error) => {
        clearTimeout(timer);
        this.client.off('ready', onReady);
        this.client.off('close', onClose);
        this.connecting = undefined;
        if (err === undefined) resolve();
        else reject(err);
      };
      const onReady = () => settle();
      const onClose = () => settle(new StoreUnavailableError('store-unreachable', `Redis connection closed while connecting (${status})`));
      const timer = setTimeout(onClose, this.timeoutMs);
      this.client.on('ready', onReady);
      this.client.on('close', onClose);
    });
    await this.connecting;
  }

  private connecting: Promise<void> | undefined;

  private failed(err: unknown): StoreUnavailableError {
    const error =
      err instanceof StoreUnavailableError
        ? err
        : new StoreUnavailableError(failureCode(err), `Redis meter call failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    this.failureCounts[error.code as StoreFailureCode] = (this.failureCounts[error.code as StoreFailureCode] ?? 0) + 1;
    return error;
  }

  /** Logs connection state changes once each (not every retry); ioredis needs an 'error' listener or it crashes the process. */
  private watchConnection(): void {
    let lastError = '';
    this.client.on('ready', () => {
      this.wasReady = true;
      lastError = '';
      this.logger?.event('info', 'store-ready', { store: 'redis' });
    });
    this.client.on('error', (err: Error) => {
      if (err.message === lastError) return;
      lastError = err.message;
      this.logger?.event('warn', 'store-connection-error', { store: 'redis', code: failureCode(err), error: err.message });
    });
    this.client.on('close', () => {
      if (!this.wasReady || this.closing) return;
      this.wasReady = false;
      this.logger?.event('warn', 'store-connection-lost', { store: 'redis' });
    });
  }
}

function parseMemory(info: string): Omit<StoreMemory, 'high'> {
  const field = (name: string) => Number(new RegExp(`^${name}:(\\d+)`, 'm').exec(info)?.[1] ?? 0);
  return { usedBytes: field('used_memory'), maxBytes: field('maxmemory') };
}

function share(m: Omit<StoreMemory, 'high'>): number {
  return m.maxBytes > 0 ? m.usedBytes / m.maxBytes : 0;
}

/**
 * After this many stalls in a row (no reply byte between them), drop the connection and reconnect: a
 * hung server would otherwise keep every abandoned command queued on the socket, without bound.
 */
export const TIMEOUTS_BEFORE_RECONNECT = 3;

/** The start of an ASK redirection in a reply (`-ASK <slot> <host:port>`). */
const ASK_REPLY = Buffer.from('-ASK ');
/** How long after its last ASK a node's calls may be kept alive by other nodes' replies (listening ms). */
const REDIRECT_GRACE_MS = 1_000;

/** At most this many calls wait corked for one socket write. */
const CORK_BATCH = 32;

/** One call in flight: settled by its reply, its error, or its connection's stall, whichever comes first. */
class WatchedCall<T> implements Waiter {
  settled = false;
  constructor(
    private readonly watch: ProgressWatch,
    private readonly resolve: (value: T) => void,
    private readonly reject: (err: unknown) => void,
  ) {}

  answered(value: T): void {
    if (this.settled) return;
    this.settled = true;
    this.watch.delete();
    this.resolve(value);
  }

  failed(err: unknown): void {
    if (this.settled) return;
    this.settled = true;
    this.watch.delete();
    this.reject(err);
  }

  /** From the watch, which has already let go of it. */
  fail(error: Error): void {
    if (this.settled) return;
    this.settled = true;
    this.reject(error);
  }
}

/**
 * One progress watch per connection: the single connection, or each Cluster node (a call belongs to
 * the primary serving its slot). Every reply byte a connection reads is progress for its watch.
 * A watch that stalls fails its calls with store-timeout and, after TIMEOUTS_BEFORE_RECONNECT stalls
 * in a row, drops that connection. A new connection must answer its handshake and ready check
 * under the same rule, or it is dropped and made again.
 */
class ConnectionWatches {
  /** The single connection's watch; for a Cluster, calls whose slot owner is not known yet, and pings. */
  readonly any: ProgressWatch;
  private readonly nodes = new Map<string, ProgressWatch>();
  /** Node watches that recently answered ASK, with the listening time until which other nodes' progress counts for them. */
  private readonly redirecting = new Map<ProgressWatch, number>();

  constructor(
    private readonly client: RedisClient,
    private readonly boundMs: number,
    private readonly logger: EventLogger | undefined,
  ) {
    this.any = this.watch('redis', () => {
      if (client.status !== 'ready') return false;
      client.disconnect(true);
      return true;
    });
    if (client instanceof Cluster) {
      client.on('+node', (node: Redis, key: string) => this.follow(node, key));
    } else {
      this.follow(client, undefined);
    }
  }

  /** The watch of the connection a call on `key` goes to. */
  forKey(key: string): ProgressWatch {
    if (!(this.client instanceof Cluster)) return this.any;
    const owner = this.client.slots[calculateSlot(key)]?.[0];
    return owner === undefined ? this.any : this.forNode(owner);
  }

  stop(): void {
    this.any.stop();
    for (const watch of this.nodes.values()) watch.stop();
  }

  forNode(key: string): ProgressWatch {
    let watch = this.nodes.get(key);
    if (watch === undefined) {
      watch = this.watch(key, () => {
        const node = (this.client as Cluster).nodes().find((n) => `${n.options.host}:${n.options.port}` === key);
        if (node === undefined || node.status !== 'ready') return false;
        node.disconnect();
        return true;
      });
      this.nodes.set(key, watch);
    }
    return watch;
  }

  /** `drop` closes the connection when it is up (and says so); a connection still in its handshake is dropped by that. */
  private watch(connection: string, drop: () => boolean): ProgressWatch {
    return new ProgressWatch(this.boundMs, ({ silentMs, inARow }) => {
      if (inARow >= TIMEOUTS_BEFORE_RECONNECT && drop()) {
        this.logger?.event('warn', 'store-reconnecting', { store: 'redis', connection, reason: `${inARow} stalls in a row` });
      }
      return new StoreUnavailableError(
        'store-timeout',
        `Redis returned nothing for ${Math.round(silentMs)} ms while calls waited on ${connection} (commandTimeoutMs ${this.boundMs})`,
      );
    });
  }

  /** Every connection (re)made by `connection`: its reply bytes are progress; its handshake is watched. */
  private follow(connection: Redis, nodeKey: string | undefined): void {
    const watch = nodeKey === undefined ? this.any : this.forNode(nodeKey);
    const progress = (chunk: Buffer) => {
      watch.progress();
      if (watch === this.any) return;
      this.any.progress();
      // A node that answered ASK has sent calls on to another node (its slot is being migrated):
      // until those come back, their progress is the other nodes' replies, so for a while any
      // node's reply bytes count for it too. Without this, a call waiting on the target was failed
      // by the source's silence (docs/redis.md, "Slot migration").
      if (chunk.includes(ASK_REPLY)) this.redirecting.set(watch, listeningMs() + REDIRECT_GRACE_MS);
      if (this.redirecting.size === 0) return;
      const now = listeningMs();
      for (const [other, until] of this.redirecting) {
        if (until < now) this.redirecting.delete(other);
        else if (other !== watch) other.progress();
      }
    };
    connection.on('connect', () => {
      const stream = connection.stream;
      stream.on('data', progress);
      // The handshake (CLIENT SETINFO, the ready check) is judged like a call: a server that accepts
      // the connection but never answers gets it dropped and made again.
      const handshake = {
        settled: false,
        fail: () => {
          handshake.settled = true;
          if (connection.status !== 'connect' || connection.stream !== stream) return;
          this.logger?.event('warn', 'store-connection-error', {
            store: 'redis',
            code: 'store-timeout',
            error: `no answer to the connection handshake within ${this.boundMs} ms`,
          });
          connection.disconnect(true);
        },
      };
      watch.add(handshake);
      const done = () => {
        if (!handshake.settled) {
          handshake.settled = true;
          watch.delete();
        }
        connection.off('ready', done);
        connection.off('close', done);
      };
      connection.on('ready', done);
      connection.on('close', done);
    });
    // A client handed in already connected (tests): follow its current socket too.
    if (connection.status === 'ready' || connection.status === 'connect') connection.stream.on('data', progress);
  }
}

/**
 * The KEYS and ARGV of the script for one call (see redis-script.ts for the layout): the numbers as
 * one JSON array written by hand, the plan names and resource hashes as they are; no objects, since
 * this runs once per decision.
 */
export function scriptInput(call: MeterCall, prefix: string, anonymousRetentionDays: number): ScriptInput {
  const tag = visitorTag(call.visitor);
  const { counters, consume, require, grants, now } = call;
  const keys: string[] = [];
  const strings = [''];
  let buckets = 0;
  for (let i = 0; i < counters.length; i++) buckets += counters[i].periods.length;
  let n = `[${buckets},${require === undefined ? 0 : require.length},${consume.length},${call.dryRun ? 1 : 0},${grants === undefined ? -1 : grants.length},${now}`;
  if (grants !== undefined) for (let i = 0; i < grants.length; i++) strings.push(grants[i]);
  for (let i = 0; i < counters.length; i++) {
    const { counterId, periods, resourceHash } = counters[i];
    // The resource hash's ARGV index (1-based; ARGV[1] is the numbers).
    if (resourceHash !== undefined) strings.push(resourceHash);
    for (let j = 0; j < periods.length; j++) {
      const period = periods[j];
      const countKey = bucketKey(prefix, tag, counterId, period, now);
      keys.push(countKey);
      const ttl = bucketTtlMs(period, now, call.visitor.userType, anonymousRetentionDays);
      if (resourceHash === undefined) {
        n += `,${keys.length},0,${ttl},0`;
      } else {
        keys.push(resourceSetKey(countKey));
        n += `,${keys.length - 1},${keys.length},${ttl},${strings.length}`;
      }
    }
  }
  if (grants !== undefined) keys.push(grantsKey(prefix, tag));
  if (require !== undefined) {
    for (const r of require) {
      n += `,${bucketAt(counters, counterAt(counters, r.counterId), r.period)},${r.limit},${r.uniqueResources ? 1 : 0}`;
    }
  }
  for (const item of consume) {
    if (!Number.isSafeInteger(item.units)) throw new Error(`meter store: units for ${item.counterId} must be an integer, got ${item.units}`);
    const ci = counterAt(counters, item.counterId);
    if (ci < 0) throw new Error(`meter store: counter ${item.counterId} consumed but not read (add it to call.counters)`);
    n += `,${bucketAt(counters, ci, undefined)},${counters[ci].periods.length},${item.units}`;
    const m = item.meter;
    n += m === null ? ',-1,0,0,0' : `,${bucketAt(counters, ci, m.period)},${m.limit},${m.uniqueResources ? 1 : 0},${m.allowPartial ? 1 : 0}`;
  }
  strings[0] = `${n}]`;
  return { keys, argv: strings };
}

/** The index of the first counter with this id, or -1 when the call does not read it. */
function counterAt(counters: MeterCall['counters'], counterId: string): number {
  for (let i = 0; i < counters.length; i++) if (counters[i].counterId === counterId) return i;
  return -1;
}

/**
 * The script's bucket number (from 1, across all counters) of counter `ci`'s `period`, or of its first
 * period when `period` is undefined; 0 (not read) when the counter or the period is not in the call.
 */
function bucketAt(counters: MeterCall['counters'], ci: number, period: Period | undefined): number {
  if (ci < 0) return 0;
  let first = 1;
  for (let i = 0; i < ci; i++) first += counters[i].periods.length;
  if (period === undefined) return first;
  const at = counters[ci].periods.indexOf(period);
  return at < 0 ? 0 : first + at;
}

/** The script's flat reply as a call result; `call` gives the shape (its counters' periods, its consumptions). */
export function decodeResult(raw: ScriptReply, call: MeterCall): MeterCallResult {
  const grantCount = Number(raw[2]);
  let at = 3 + grantCount;
  const readings: Record<string, CounterReading> = {};
  const { counters, consume } = call;
  for (let i = 0; i < counters.length; i++) {
    const { counterId, periods } = counters[i];
    const reading: CounterReading = { usage: {}, seen: {} };
    for (let j = 0; j < periods.length; j++) {
      reading.usage[periods[j]] = Number(raw[at]);
      reading.seen[periods[j]] = Number(raw[at + 1]) === 1;
      at += 2;
    }
    readings[counterId] = reading;
  }
  const consumed: ConsumeResult[] = [];
  for (let i = 0; i < consume.length; i++, at += 4) {
    consumed.push({ granted: Number(raw[at]) === 1, units: Number(raw[at + 1]), excess: Number(raw[at + 2]), free: Number(raw[at + 3]) === 1 });
  }
  const requirementMet = Number(raw[0]) === 1;
  if (call.grants === undefined) return { readings, requirementMet, consumed };
  const grants: Grant[] = [];
  for (let i = 0; i < grantCount; i++) grants.push(decodeGrant(String(raw[3 + i])));
  return { readings, requirementMet, consumed, grants, grantsChanged: Number(raw[1]) === 1 };
}
