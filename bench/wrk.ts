// Runs wrk (the Debian package) against one target and returns its summary as numbers, via the Lua
// done() hook in bench/wrk/summary.lua. wrk is C: it leaves the second core to the server under test.
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureCommand } from './apt.js';
import type { Target } from './http-check.js';

export interface WrkSettings {
  threads: number;
  connections: number;
  durationS: number;
  /** Count exact non-2xx statuses with a response() hook (slower load generator) instead of wrk's own >= 400 count. */
  countStatuses: boolean;
}

export interface WrkResult {
  requests: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  /** Socket errors: connect + read + write + timeout. */
  errors: number;
  non2xx: number;
}

interface WrkJson {
  requests: number;
  durationUs: number;
  p50Us: number;
  p99Us: number;
  connect: number;
  read: number;
  write: number;
  timeout: number;
  non2xx: number;
}

let wrkPath: string | undefined;

export async function ensureWrk(): Promise<string> {
  if (wrkPath) return wrkPath;
  const found = await ensureCommand('wrk', ['wrk']);
  if ('missing' in found) throw new Error(`${found.missing}. The benchmark needs wrk (Debian: apt-get install -y wrk).`);
  wrkPath = found.path;
  return wrkPath;
}

export async function wrkVersion(): Promise<string> {
  const path = await ensureWrk();
  // `wrk -v` prints its version and exits non-zero.
  const out = await new Promise<string>((resolve) => execFile(path, ['-v'], (_err, stdout, stderr) => resolve(`${stdout}${stderr}`)));
  return out.split('\n')[0]?.trim() || 'wrk';
}

/** The Lua script for this mode, written once into the run's temp dir. */
function scriptFile(tmpDir: string, countStatuses: boolean): string {
  const file = join(tmpDir, countStatuses ? 'wrk-count-statuses.lua' : 'wrk-summary.lua');
  const here = new URL('./wrk/', import.meta.url);
  const parts = countStatuses ? ['count-statuses.lua', 'summary.lua'] : ['summary.lua'];
  writeFileSync(file, parts.map((part) => readFileSync(new URL(part, here), 'utf8')).join('\n'));
  return file;
}

export async function runWrk(target: Target, settings: WrkSettings, tmpDir: string): Promise<WrkResult> {
  const path = await ensureWrk();
  const args = [
    `-t${settings.threads}`,
    `-c${settings.connections}`,
    `-d${settings.durationS}s`,
    '-s',
    scriptFile(tmpDir, settings.countStatuses),
    ...Object.entries(target.headers).flatMap(([name, value]) => ['-H', `${name}: ${value}`]),
    target.url,
  ];
  const stdout = await new Promise<string>((resolve, reject) =>
    execFile(path, args, { maxBuffer: 1 << 20 }, (err, out, errOut) =>
      err ? reject(new Error(`wrk failed on ${target.url}: ${err.message}\n${errOut}`)) : resolve(out),
    ),
  );
  const line = stdout.split('\n').find((l) => l.startsWith('BENCH_JSON '));
  if (!line) throw new Error(`wrk printed no BENCH_JSON line for ${target.url}:\n${stdout}`);
  const json = JSON.parse(line.slice('BENCH_JSON '.length)) as WrkJson;
  return {
    requests: json.requests,
    rps: json.requests / (json.durationUs / 1e6),
    p50Ms: json.p50Us / 1000,
    p99Ms: json.p99Us / 1000,
    errors: json.connect + json.read + json.write + json.timeout,
    non2xx: json.non2xx,
  };
}
