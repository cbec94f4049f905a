// Starting a Node server child on a free port and waiting for its first 200: shared by every Node candidate.
import { freePort } from '../../test/support/redis-server.js';
import { waitUntilReady, type Target } from '../http-check.js';
import { spawnChild, type ChildHandle } from '../processes.js';
import type { BenchContext, StartResult } from './types.js';

export interface LaunchSpec {
  name: string;
  /** Arguments to `node`, e.g. `['--import', 'tsx', 'bench/upstream.ts']`. */
  nodeArgs: readonly string[];
  env?: Record<string, string>;
  path?: string;
  headers?: Record<string, string>;
}

export async function launchNodeServer(ctx: BenchContext, spec: LaunchSpec, port?: number): Promise<StartResult> {
  const chosen = port ?? (await freePort());
  const child: ChildHandle = spawnChild(spec.name, process.execPath, spec.nodeArgs, {
    cwd: ctx.root,
    env: { ...process.env, NODE_ENV: 'production', BENCH_PORT: String(chosen), BENCH_UPSTREAM: ctx.upstreamUrl, ...spec.env },
  });
  const target: Target = { url: `http://127.0.0.1:${chosen}${spec.path ?? '/'}`, headers: spec.headers ?? {} };
  const failure = await waitUntilReady(target, child, ctx.startTimeoutMs);
  if (failure !== null) {
    await child.stop();
    return { skipped: `${spec.name} did not start: ${failure}` };
  }
  return { target, child };
}

export const tsEntry = (file: string): string[] => ['--import', 'tsx', file];
