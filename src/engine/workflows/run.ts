import type { EventLogger } from '../../events.js';
// Running operator workflows in-process with a time budget on their asynchronous work. When the
// budget runs out the workflow's feature handles are revoked (a later consume() rejects and records
// nothing) and the decision goes on without its result; they are revoked as well when the workflow
// returns or throws. Synchronous runaway code cannot be interrupted in-process (documented in
// docs/workflows.md).
//
// The budget counts the time the process listened while the workflow was pending (its event loop
// idle: nothing else to do but wait for what the workflow waits on), less the time spent in the
// workflow's own meter calls, which the store bounds by itself (meters/redis-progress.ts). Time the
// process spends on other requests is its own backlog, not the workflow's: under a burst, a workflow
// whose I/O had long completed was timed out while its reply waited behind the process's backlog.
import { listeningMs } from '../listening.js';

export class RevokedHandleError extends Error {
  constructor() {
    super('this workflow has finished or ran out of its time budget: its feature handles are revoked and record nothing');
    this.name = 'RevokedHandleError';
  }
}

/**
 * What the handles given to one workflow run share: the revocation flag, and the listening time
 * spent in their meter calls (left out of the run's budget).
 */
export class Revocation {
  revoked = false;
  private storeCalls = 0;
  private storeSince = 0;
  private storeMs = 0;

  check(): void {
    if (this.revoked) throw new RevokedHandleError();
  }

  /** Runs a meter call made by a handle; its time is the store's to bound, not the workflow's. */
  async inStore<T>(call: () => Promise<T>): Promise<T> {
    if (this.storeCalls++ === 0) this.storeSince = listeningMs();
    try {
      return await call();
    } finally {
      if (--this.storeCalls === 0) this.storeMs += listeningMs() - this.storeSince;
    }
  }

  /** Listening time spent in meter calls so far, one still running included. */
  storeListeningMs(): number {
    return this.storeMs + (this.storeCalls > 0 ? listeningMs() - this.storeSince : 0);
  }
}

export type WorkflowOutcome<T> = { ok: true; value: T } | { ok: false; code: 'workflow-error' | 'workflow-timeout' };

export async function runWorkflow<I, T>(
  run: (input: I) => T | Promise<T>,
  input: I,
  options: { file: string; kind: string; timeoutMs: number; revocation: Revocation; logger?: EventLogger },
): Promise<WorkflowOutcome<Awaited<T>>> {
  const budget = new Budget(options.timeoutMs, options.revocation);
  try {
    const result = await Promise.race([Promise.resolve().then(() => run(input)), budget.expired]);
    if (result === TIMED_OUT) {
      options.logger?.event('error', 'workflow-timeout', { workflow: options.file, kind: options.kind, timeoutMs: options.timeoutMs });
      return { ok: false, code: 'workflow-timeout' };
    }
    return { ok: true, value: result as Awaited<T> };
  } catch (err) {
    options.logger?.event('error', 'workflow-error', { workflow: options.file, kind: options.kind, error: err instanceof Error ? err.message : String(err) });
    return { ok: false, code: 'workflow-error' };
  } finally {
    budget.stop();
    // The decision is built from what the workflow did until now: a consume() it left behind for
    // later (a timer, an un-awaited chain) must not record outside any decision.
    options.revocation.revoked = true;
  }
}

const TIMED_OUT: unique symbol = Symbol('workflow-timeout');

/** Resolves `expired` once the run has had `timeoutMs` of listening time outside its meter calls. */
class Budget {
  readonly expired: Promise<typeof TIMED_OUT>;
  private expire!: (value: typeof TIMED_OUT) => void;
  private readonly started = listeningMs();
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly timeoutMs: number,
    private readonly revocation: Revocation,
  ) {
    this.expired = new Promise((resolve) => (this.expire = resolve));
    this.arm(timeoutMs);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private spent(): number {
    return listeningMs() - this.started - this.revocation.storeListeningMs();
  }

  /** Listening time grows at most as fast as the clock: the budget cannot run out sooner. */
  private arm(ms: number): void {
    this.timer = setTimeout(this.check, Math.max(1, Math.ceil(ms)));
  }

  private readonly check = (): void => {
    const left = this.timeoutMs - this.spent();
    if (left > 0) return this.arm(left);
    // Timers run before the poll phase: let it deliver what the workflow may be waiting for, then judge.
    setImmediate(this.confirm);
  };

  private readonly confirm = (): void => {
    if (this.stopped) return;
    const left = this.timeoutMs - this.spent();
    if (left > 0) return this.arm(left);
    this.expire(TIMED_OUT);
  };
}
