// What a benchmark candidate is: something the harness can start, point wrk at, and stop.
import type { Target } from '../http-check.js';
import type { ChildHandle } from '../processes.js';

export interface BenchContext {
  /** Repository root (children run with it as their working directory). */
  root: string;
  /** The shared upstream every proxy forwards to: `http://127.0.0.1:<port>`. */
  upstreamUrl: string;
  /** The harness's own redis-server. */
  redisUrl: string;
  /** A private temp dir for generated configs, keys and logs; removed at exit. */
  tmpDir: string;
  /** How long a candidate may take to answer its first 200. */
  startTimeoutMs: number;
  /** Run this candidate under `node --cpu-prof`, writing the profile into `dir`. */
  cpuProfile?: { name: string; dir: string };
}

export interface Running {
  /** What wrk requests (URL and headers), and what the status check expects to be 200. */
  target: Target;
  /** The server process, when the harness started one (its RSS is read by the soak). */
  child?: ChildHandle;
  /** Sends requests one by one and reads how far the Redis meter moved: equal when no answer was cached on the way. */
  meterCheck?: () => Promise<{ requests: number; counted: number }>;
}

export type StartResult = Running | { skipped: string };

export interface Candidate {
  name: string;
  /** One line for the table's legend. */
  description: string;
  /** A required candidate that fails to start fails the run; an optional one is skipped loudly. */
  required: boolean;
  start(ctx: BenchContext): Promise<StartResult>;
}

export function isSkipped(result: StartResult): result is { skipped: string } {
  return 'skipped' in result;
}
