// Judges a Redis connection by its progress, not by each command's age (docs/redis.md, "What the
// timeouts measure"). A call's age includes the time the process itself took to write it and to read
// its reply: under a burst one poll phase of the event loop can run for seconds reading requests,
// while Redis's replies wait unread in the socket. So a connection is stalled only when it sent no
// reply byte during `boundMs` of the time the process was listening (its event loop idle, waiting
// for I/O: any byte from Redis would have woken it), while calls were outstanding. A timer runs
// before the poll phase, so a stall is confirmed once more after it. Then every call outstanding on
// the connection fails with `store-timeout`.
import { listeningMs } from '../listening.js';

/** A call outstanding on a connection: failed by the watch when the connection stalls. */
export interface Waiter {
  /** Answered, failed, or given up: the watch skips it. */
  readonly settled: boolean;
  fail(error: Error): void;
}

export interface Stall {
  /** Milliseconds the process listened without a reply byte while calls were outstanding. */
  silentMs: number;
  /** Stalls since the last reply byte, this one included. */
  inARow: number;
}

export class ProgressWatch {
  /**
   * Calls in the order they were written. A connection answers in that order, so settled calls
   * leave from the front; a queue and a count cost less per call than a Set.
   */
  private queue: Waiter[] = [];
  private head = 0;
  private outstanding = 0;
  /** listeningMs() at the last reply byte, or when calls began to wait on a quiet connection. */
  private since = 0;
  private timer: NodeJS.Timeout | undefined;
  private confirming = false;
  private stallsInARow = 0;

  constructor(
    private readonly boundMs: number,
    /** Builds the error each outstanding call fails with, and acts on the stall (reconnect, log). */
    private readonly onStall: (stall: Stall) => Error,
  ) {}

  /** Reply bytes arrived: the server is making progress. */
  progress(): void {
    this.since = listeningMs();
    this.stallsInARow = 0;
  }

  /**
   * A call was sent: it waits from now if nothing else was outstanding. (A call the store corked is
   * written before the process can next sit idle, so the time it spends corked is not listening time.)
   */
  add(waiter: Waiter): void {
    if (this.outstanding === 0) this.since = listeningMs();
    this.outstanding++;
    this.queue.push(waiter);
    if (this.timer === undefined && !this.confirming) this.arm(this.boundMs);
  }

  /** The call was answered (or failed otherwise); it has marked itself settled. */
  delete(): void {
    if (--this.outstanding === 0) {
      this.queue = [];
      this.head = 0;
      return;
    }
    const queue = this.queue;
    while (this.head < queue.length && queue[this.head].settled) this.head++;
    if (this.head > 1024) {
      this.queue = queue.slice(this.head);
      this.head = 0;
    }
  }

  /** Clears the timer (the store is closing). */
  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private arm(ms: number): void {
    // Listening time grows at most as fast as the clock: the bound cannot be reached sooner.
    this.timer = setTimeout(this.check, Math.max(1, Math.ceil(ms)));
    this.timer.unref();
  }

  private readonly check = (): void => {
    this.timer = undefined;
    if (this.outstanding === 0) return;
    const silent = listeningMs() - this.since;
    if (silent < this.boundMs) return this.arm(this.boundMs - silent);
    // Timers run before the poll phase: let it read what the socket may hold, then judge.
    this.confirming = true;
    setImmediate(this.confirm);
  };

  private readonly confirm = (): void => {
    this.confirming = false;
    if (this.outstanding === 0) return;
    const silentMs = listeningMs() - this.since;
    if (silentMs < this.boundMs) return this.arm(this.boundMs - silentMs);
    const waiters = this.queue.slice(this.head);
    this.queue = [];
    this.head = 0;
    this.outstanding = 0;
    const error = this.onStall({ silentMs, inARow: ++this.stallsInARow });
    for (const waiter of waiters) if (!waiter.settled) waiter.fail(error);
  };
}
