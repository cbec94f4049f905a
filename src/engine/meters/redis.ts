// Redis meter store: one Lua script per `run` (EVALSHA; ioredis falls back to EVAL and reloads the
// script on NOSCRIPT), so check-and-consume is atomic across any number of gateway processes. Every
// failure becomes a StoreUnavailableError with a stable code within the command timeout.
import type { EventLogger } from '../../events.js';
import { createRedisClient, DEFAULT_COMMAND_TIMEOUT_MS, type RedisClient, type RedisSettings } from './redis-connection.js';
import { bucketKey, bucketTtlMs, checkKeyPrefix, resourceSetKey, visitorTag } from './redis-keys.js';
import { METER_SCRIPT } from './redis-script.js';
import {
  StoreUnavailableError,
  type StoreFailureCode,
  type CounterReading,
  type MeterCall,
  type MeterCallResult,
  type MeterStore,
  type Period,
} from './store.js';

export type { StoreFailureCode } from './store.js';

/**
 * After this many timeouts in a row on a connection that looks ready, drop it and reconnect: a hung
 * server would otherwise keep every timed-out command queued on the socket, without bound.
 */
export const TIMEOUTS_BEFORE_RECONNECT = 3;

/** Readiness and counters for ops (health endpoint, metrics, the benchmark's cross-check). */
export interface StoreHealth {
  /** Connected and ready to take commands. */
  isReady(): boolean;
  /** A PING within the command timeout; never throws. */
  ping(): Promise<boolean>;
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
  argv: string;
  /** Periods per counter, in call order, to decode the flat readings. */
  shape: { counterId: string; periods: MeterCall['counters'][number]['periods'] }[];
}

type MeterScriptClient = RedisClient & { plangateMeter(numKeys: number, ...args: string[]): Promise<[number, number[], number[]]> };

const TIMEOUT = /timed out/i;
const CONNECTION_ERROR =
  /ECONNREFUSED|ECONNRESET|ENOTFOUND|EHOSTUNREACH|ETIMEDOUT|EPIPE|writeable|Connection is closed|closed|MaxRetriesPerRequest|None of .*available|ClusterAllFailed|Failed to refresh slots/i;

export function failureCode(err: unknown): StoreFailureCode {
  const message = err instanceof Error ? `${err.name} ${err.message}` : String(err);
  if (TIMEOUT.test(message)) return 'store-timeout';
  if (CONNECTION_ERROR.test(message)) return 'store-unreachable';
  return 'store-error';
}

export class RedisMeterStore implements MeterStore {
  readonly kind = 'redis' as const;
  readonly health: StoreHealth;
  private readonly client: MeterScriptClient;
  private readonly prefix: string;
  private readonly retentionDays: number;
  private readonly timeoutMs: number;
  private readonly logger?: EventLogger;
  private readonly failureCounts: Record<StoreFailureCode, number> = { 'store-timeout': 0, 'store-unreachable': 0, 'store-error': 0 };
  private commands = 0;
  private wasReady = false;
  private timeoutsInARow = 0;

  constructor(options: RedisMeterStoreOptions) {
    this.prefix = checkKeyPrefix(options.redis.keyPrefix ?? 'plangate:');
    this.retentionDays = options.anonymousRetentionDays ?? 400;
    this.timeoutMs = options.redis.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
    this.logger = options.logger;
    const client = options.client ?? createRedisClient(options.redis);
    client.defineCommand('plangateMeter', { lua: METER_SCRIPT });
    this.client = client as MeterScriptClient;
    this.watchConnection();
    const store = this;
    this.health = {
      isReady: () => this.client.status === 'ready',
      ping: () => this.ping(),
      failures: () => ({ ...this.failureCounts }),
      get commandCount() {
        return store.commands;
      },
    };
  }

  async run(call: MeterCall): Promise<MeterCallResult> {
    const input = scriptInput(call, this.prefix, this.retentionDays);
    try {
      // Connected (the steady state): ioredis's own command timeout bounds the call, no second timer
      // (a NOSCRIPT reload adds one more bounded command). Otherwise the wait for a connection is bounded too.
      const raw =
        this.client.status === 'ready'
          ? await this.send(input)
          : await this.bounded(async (expired) => {
              await this.readyOrFail();
              // A connection that came up after the deadline must not apply a call the caller saw fail.
              if (expired()) throw new StoreUnavailableError('store-timeout', `Redis did not answer within ${this.timeoutMs} ms`);
              return this.send(input);
            });
      this.timeoutsInARow = 0;
      return decodeResult(raw, input, call);
    } catch (err) {
      throw this.failed(err);
    }
  }

  async close(): Promise<void> {
    this.client.disconnect();
  }

  /** One script call: the only place a meter command is sent (and counted). */
  private send(input: ScriptInput): Promise<[number, number[], number[]]> {
    this.commands++;
    this.corkUntilNextTurn();
    return this.client.plangateMeter(input.keys.length, ...input.keys, input.argv);
  }

  /**
   * Concurrent decisions' calls leave in one socket write per event-loop turn: the connection is
   * corked at the first call of a turn and uncorked by setImmediate, after every request the turn
   * read has had its say. Still one round trip per decision; one write syscall per batch instead of
   * one per call, without ioredis's auto-pipelining machinery (which cost more CPU than it saved,
   * see redis-connection.ts). A single connection only (a Cluster client has one per node).
   */
  private corkUntilNextTurn(): void {
    if (this.corked !== undefined || !('stream' in this.client)) return;
    const stream = this.client.stream;
    if (stream === undefined || stream.destroyed) return;
    stream.cork();
    this.corked = stream;
    setImmediate(this.uncork);
  }

  private corked: { uncork(): void } | undefined;
  private readonly uncork = (): void => {
    const stream = this.corked;
    this.corked = undefined;
    stream?.uncork();
  };

  private async ping(): Promise<boolean> {
    try {
      await this.bounded(async () => {
        await this.readyOrFail();
        return this.client.ping();
      });
      return true;
    } catch {
      return false;
    }
  }

  /** ioredis times out each command; this also bounds the wait for a connection and a NOSCRIPT reload. */
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

  /** While a connection attempt is under way, wait for it (bounded by the caller); otherwise fail fast. */
  private async readyOrFail(): Promise<void> {
    const status = this.client.status;
    if (status === 'ready') return;
    if (status === 'connecting' || status === 'connect') {
      await new Promise<void>((resolve, reject) => {
        const settle = (err?: Error) => {
          clearTimeout(timer);
          this.client.off('ready', onReady);
          this.client.off('close', onClose);
          if (err === undefined) resolve();
          else reject(err);
        };
        const onReady = () => settle();
        const onClose = () => settle(new StoreUnavailableError('store-unreachable', `Redis connection closed while connecting (${status})`));
        const timer = setTimeout(onClose, this.timeoutMs);
        this.client.on('ready', onReady);
        this.client.on('close', onClose);
      });
      return;
    }
    throw new StoreUnavailableError('store-unreachable', `Redis is not connected (${status})`);
  }

  private failed(err: unknown): StoreUnavailableError {
    const error =
      err instanceof StoreUnavailableError
        ? err
        : new StoreUnavailableError(failureCode(err), `Redis meter call failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    this.failureCounts[error.code as StoreFailureCode] = (this.failureCounts[error.code as StoreFailureCode] ?? 0) + 1;
    this.timeoutsInARow = error.code === 'store-timeout' ? this.timeoutsInARow + 1 : 0;
    if (this.timeoutsInARow >= TIMEOUTS_BEFORE_RECONNECT && this.client.status === 'ready') {
      this.timeoutsInARow = 0;
      this.logger?.event('warn', 'store-reconnecting', { store: 'redis', reason: `${TIMEOUTS_BEFORE_RECONNECT} timeouts in a row` });
      this.client.disconnect(true);
    }
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
      if (!this.wasReady) return;
      this.wasReady = false;
      this.logger?.event('warn', 'store-connection-lost', { store: 'redis' });
    });
  }
}

/**
 * The KEYS and ARGV of the script for one call (see redis-script.ts for the layout). The JSON
 * argument is written by hand, in exactly JSON.stringify's form (a test holds it to that): it holds
 * only indexes, numbers, booleans and a base64url resource hash, and this runs once per decision.
 */
export function scriptInput(call: MeterCall, prefix: string, anonymousRetentionDays: number): ScriptInput {
  const tag = visitorTag(call.visitor);
  const keys: string[] = [];
  const shape: ScriptInput['shape'] = [];
  const { counters } = call;
  let c = '';
  for (let i = 0; i < counters.length; i++) {
    const spec = counters[i];
    shape.push({ counterId: spec.counterId, periods: spec.periods });
    let b = '';
    for (const period of spec.periods) {
      const countKey = bucketKey(prefix, tag, spec.counterId, period, call.now);
      keys.push(countKey);
      const countIndex = keys.length;
      let setIndex = 0;
      if (spec.resourceHash !== undefined) {
        keys.push(resourceSetKey(countKey));
        setIndex = keys.length;
      }
      b += `${b === '' ? '' : ','}[${countIndex},${setIndex},${json(bucketTtlMs(period, call.now, call.visitor.userType, anonymousRetentionDays))}]`;
    }
    c += `${i === 0 ? '' : ','}{"b":[${b}]${spec.resourceHash === undefined ? '' : `,"r":${JSON.stringify(spec.resourceHash)}`}}`;
  }
  /** 1-based counter index and period index within it; 0 when the counter is not read. */
  const counterAt = (counterId: string): number => {
    for (let i = 0; i < counters.length; i++) if (counters[i].counterId === counterId) return i + 1;
    return 0;
  };
  const periodAt = (ci: number, period: Period): number => (ci === 0 ? 0 : counters[ci - 1].periods.indexOf(period) + 1);
  let q = '';
  for (const r of call.require ?? []) {
    const ci = counterAt(r.counterId);
    q += `${q === '' ? '' : ','}{"c":${ci},"p":${periodAt(ci, r.period)},"l":${json(r.limit)}${flag('u', r.uniqueResources)}}`;
  }
  let k = '';
  for (const item of call.consume) {
    if (!Number.isSafeInteger(item.units)) throw new Error(`meter store: units for ${item.counterId} must be an integer, got ${item.units}`);
    const ci = counterAt(item.counterId);
    if (ci === 0) throw new Error(`meter store: counter ${item.counterId} consumed but not read (add it to call.counters)`);
    const m = item.meter;
    const meter = m === null ? '' : `,"m":{"p":${periodAt(ci, m.period)},"l":${json(m.limit)}${flag('u', m.uniqueResources)}${flag('a', m.allowPartial)}}`;
    k += `${k === '' ? '' : ','}{"c":${ci},"n":${item.units}${meter}}`;
  }
  return { keys, argv: `{"c":[${c}],"q":[${q}],"k":[${k}]${flag('d', call.dryRun)}}`, shape };
}

/** A number as JSON writes it (non-finite numbers become null). */
function json(value: number): string {
  return Number.isFinite(value) ? String(value) : 'null';
}

/** `,"name":true|false`, or nothing when the value is undefined (as JSON.stringify leaves it out). */
function flag(name: string, value: boolean | undefined): string {
  return value === undefined ? '' : `,"${name}":${value}`;
}

function decodeResult(raw: [number, number[], number[]], input: ScriptInput, call: MeterCall): MeterCallResult {
  const [met, flatReadings, flatResults] = raw;
  const readings: Record<string, CounterReading> = {};
  let at = 0;
  for (const { counterId, periods } of input.shape) {
    const reading: CounterReading = { usage: {}, seen: {} };
    for (const period of periods) {
      reading.usage[period] = Number(flatReadings[at]);
      reading.seen[period] = Number(flatReadings[at + 1]) === 1;
      at += 2;
    }
    readings[counterId] = reading;
  }
  const consumed = call.consume.map((_, i) => ({
    granted: Number(flatResults[i * 4]) === 1,
    units: Number(flatResults[i * 4 + 1]),
    excess: Number(flatResults[i * 4 + 2]),
    free: Number(flatResults[i * 4 + 3]) === 1,
  }));
  return { readings, requirementMet: met === 1, consumed };
}
