// The time budgets of the engine (a Redis connection's silence, a workflow's budget) count the time
// the process spent listening: its event loop idle, waiting for I/O or timers. Time spent running
// code (its own backlog of requests, a burst being read) is not the guarded thing's fault, and
// anything the guarded thing sends during it is read as soon as the loop gets to it.
import { performance } from 'node:perf_hooks';

/** Milliseconds the event loop has spent idle since the process started (libuv's idle-time metric). */
export function listeningMs(): number {
  return performance.nodeTiming.idleTime;
}
