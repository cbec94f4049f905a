// Starting a Node server child on a free port and waiting for its first 200: shared by every Node candidate.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { nodeFlags, readDockerfile } from '../../test/support/container-spec.js';
import { freePort } from '../../test/support/redis-server.js';
import { waitUntilReady, type Target } from '../http-check.js';
import { spawnChild, type ChildHandle } from '../processes.js';
import { isSkipped, type BenchContext, type StartResult } from './types.js';

export interface LaunchSpec {
  name: string;
  /** Arguments to `node`, e.g. `['--import', 'tsx', 'bench/upstream.ts']`. */
  nodeArgs: readonly string[];
  env?: Record<string, string>;
  path?: string;
  headers?: Record<string, string>;
}

export function launchNodeServer(ctx: BenchContext, spec: LaunchSpec): Promise<StartResult> {
  return retryOnPortRace(async () => launchOnPort(ctx, spec, await freePort()));
}

/** Starts the child on a port chosen by the caller (a gateway's port is written into its config). */
export async function launchOnPort(ctx: BenchContext, spec: LaunchSpec, chosen: number): Promise<StartResult> {
  const profile = ctx.cpuProfile?.name === spec.name ? ['--cpu-prof', `--cpu-prof-dir=${ctx.cpuProfile.dir}`] : [];
  const child: ChildHandle = spawnChild(spec.name, process.execPath, [...profile, ...spec.nodeArgs], {
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

/**
 * The node flags the checkout's image runs plangate with (its Dockerfile's CMD, docs/operations.md
 * "Runtime flags"); none for a checkout without a Dockerfile or flags. The plangate candidates and
 * the Node references (raw-proxy, express-hpm) all get them, so a ratio between them compares code,
 * not runtime settings.
 */
export function imageNodeFlags(root: string): string[] {
  const dockerfile = join(root, 'Dockerfile');
  return existsSync(dockerfile) ? nodeFlags(readDockerfile(readFileSync(dockerfile, 'utf8')).cmd) : [];
}

const PORT_ATTEMPTS = 3;
/** Node's and nginx's words for a port someone else bound first. */
const PORT_TAKEN = /EADDRINUSE|Address already in use/;

/**
 * A free port is free when picked, not necessarily when the child binds it (other servers, including
 * the gateways' port-0 API listeners, start at the same time): start again on a new port when that
 * race is lost.
 */
export async function retryOnPortRace(start: () => Promise<StartResult>): Promise<StartResult> {
  let result = await start();
  for (let attempt = 1; attempt < PORT_ATTEMPTS && isSkipped(result) && PORT_TAKEN.test(result.skipped); attempt++) result = await start();
  return result;
}
