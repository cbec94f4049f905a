// The meter-store interface: the only I/O the engine does. One `run` call per store round trip:
// it reads every counter a decision needs and applies the consumption all-or-nothing, atomically.
/** Calendar periods in UTC (weeks are ISO weeks, from Monday); `lifetime` never ends. */
export type Period = 'lifetime' | 'day' | 'week' | 'month' | 'year';
export const PERIODS: readonly Period[] = ['lifetime', 'day', 'week', 'month', 'year'];

/**
 * The most units one consumption or counter update may add or take away (docs/api.md): the API's
 * `update`, a config's `units` and a workflow's `consume(n)` are held to it before any store call.
 */
export const MAX_UNITS_PER_CALL = 1_000_000;
/**
 * Counters saturate at this value: exact as a JavaScript number and as a double in the Lua script
 * (below 2^53), and far from Redis's 64-bit integers, so no sequence of calls overflows either store.
 */
export const MAX_COUNTER_VALUE = 1_000_000_000_000_000;

/** Counters are per visitor: a `provided` and a `jwt` identity with the same identifier share them. */
export interface Visitor {
  userType: 'anonymous' | 'authenticated';
  identifier: string;
}

export interface CounterSpec {
  counterId: string;
  /** Every period any plan in the config uses for this counter: these buckets are read and incremented. */
  periods: readonly Period[];
  /** Hashed resource id, present when the counter has a `uniqueResources` meter and the request names a resource. */
  resourceHash?: string;
}

export interface MeterLimit {
  limit: number;
  period: Period;
  uniqueResources: boolean;
  allowPartial: boolean;
}

export interface ConsumeSpec {
  counterId: string;
  /**
   * Units to record, an integer. Negative only with `meter: null` (counter-updates). Counters never go
   * below 0 nor above MAX_COUNTER_VALUE.
   */
  units: number;
  /** The resolved meter judging the consumption; null records without a limit (incrementCounter, on/off). */
  meter: MeterLimit | null;
}

export interface MeterCall {
  visitor: Visitor;
  /** Epoch milliseconds; buckets are calendar periods in UTC. */
  now: number;
  /** Every counter to read; includes every counter named in `require` and `consume`. */
  counters: readonly CounterSpec[];
  /** Meters that must have access on the state before consumption, else nothing is consumed. */
  require?: readonly ({ counterId: string } & Omit<MeterLimit, 'allowPartial'>)[];
  /** Applied all or nothing (a partial grant under allowPartial counts as success). */
  consume: readonly ConsumeSpec[];
  /** Compute everything, record nothing. */
  dryRun: boolean;
  /**
   * Read the visitor's plan grants in the same call: the plans the caller assumed granted (unexpired
   * at `now`, sorted). When the store's differ, the call records nothing and refuses every consumption
   * (`grantsChanged`): the caller resolves plans again from `grants` and calls once more.
   */
  grants?: readonly string[];
}

export interface CounterReading {
  /** Usage per period bucket, before this call's consumption. */
  usage: Partial<Record<Period, number>>;
  /** Whether `resourceHash` was already recorded in the bucket of each period, before this call. */
  seen: Partial<Record<Period, boolean>>;
}

export interface ConsumeResult {
  /** Whether the consumption succeeded (and, unless dryRun, was recorded). */
  granted: boolean;
  /** Units recorded (0 when free under uniqueResources or refused). */
  units: number;
  /** Requested units that were not granted. */
  excess: number;
  /** Granted without recording: the resource was already counted this period. */
  free: boolean;
}

export interface MeterCallResult {
  readings: Record<string, CounterReading>;
  requirementMet: boolean;
  /** Same order as `call.consume`. */
  consumed: ConsumeResult[];
  /** With `call.grants`: the visitor's unexpired grants at `now` (expired ones are ignored, and removed unless dry). */
  grants?: Grant[];
  /** With `call.grants`: the unexpired granted plans are not the ones assumed; nothing was recorded. */
  grantsChanged?: boolean;
}

/** A plan granted to one visitor (docs/admin.md): paid entitlements, kept until revoked or expired. */
export interface Grant {
  plan: string;
  /** Epoch milliseconds; null: until revoked. */
  expiresAt: number | null;
  grantedAt: number;
  /** Who granted it (an API key's name, or `cli:<user>`). */
  by: string;
  note?: string;
}

/** A grant with its visitor (export, import, listing). */
export interface VisitorGrant extends Grant {
  visitor: Visitor;
}

/** What an Idempotency-Key found: nothing (the caller now holds it), a request in progress, or the stored answer. */
export type IdempotencyClaim = { state: 'claimed' } | { state: 'pending' } | { state: 'done'; answer: string };

/**
 * The operations of the admin API and CLI (docs/admin.md): grants, a visitor's keys, idempotency.
 * Never on the request path.
 */
export interface StoreAdmin {
  /** Every grant of the visitor, expired ones included (listing shows them as expired). */
  grants(visitor: Visitor): Promise<Grant[]>;
  /** Sets (replaces) the visitor's grant of `grant.plan`. */
  putGrant(visitor: Visitor, grant: Grant): Promise<void>;
  /** Removes the visitor's grant of `plan`; false when there was none. */
  removeGrant(visitor: Visitor, plan: string): Promise<boolean>;
  /** Every grant of every visitor (export). */
  allGrants(): AsyncIterable<VisitorGrant>;
  /** Deletes the buckets of one counter in the periods given, as of `now` (its usage and remembered resources). */
  resetCounter(visitor: Visitor, counterId: string, periods: readonly Period[], now: number): Promise<void>;
  /** Deletes every key of the visitor: counters of every period, resource sets, grants. Returns how many. */
  forget(visitor: Visitor): Promise<number>;
  /** Claims an idempotency key for `ttlMs`, or reports what holds it. */
  claimIdempotency(key: string, ttlMs: number): Promise<IdempotencyClaim>;
  /** Stores the answer of a claimed key (kept `ttlMs`); `answer` null releases the claim (the action failed). */
  settleIdempotency(key: string, answer: string | null, ttlMs: number): Promise<void>;
}

/**
 * One new anonymous id asked for from a client network, counted against the budgets of the current
 * window (docs/redis.md, "Anonymous floods"): the network's and the total of all networks.
 */
export interface NewIdRequest {
  /** The network's keyed id (never its address): what the budget is counted under. */
  networkId: string;
  now: number;
  /** New ids one network may get per window. */
  perNetwork: number;
  /** New ids all networks together may get per window. */
  total: number;
  windowMs: number;
}

export interface MeterStore {
  readonly kind: 'memory' | 'redis';
  run(call: MeterCall): Promise<MeterCallResult>;
  /** Counts one new id against both budgets; false, counting nothing, when either is spent. */
  allowNewId(request: NewIdRequest): Promise<boolean>;
  readonly admin: StoreAdmin;
  close(): Promise<void>;
}

/** The start of the budget window `now` falls in. */
export function newIdWindow(now: number, windowMs: number): number {
  return now - (now % windowMs);
}

/** Thrown by a store that cannot answer (unreachable, timed out); the engine applies the failure policy. */
export type StoreFailureCode = 'store-timeout' | 'store-unreachable' | 'store-error';

export class StoreUnavailableError extends Error {
  readonly code: StoreFailureCode;
  constructor(code: StoreFailureCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StoreUnavailableError';
    this.code = code;
  }
}
