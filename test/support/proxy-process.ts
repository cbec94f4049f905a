// Real nginx and Caddy for forward-auth tests: each runs from the Debian binary with a config the test
// generated (`plangate proxy-config`), in a temp directory of its own, on a free port, and is stopped
// by its own pid.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanupDir, freePort } from './redis-server.js';

export const NGINX = '/usr/sbin/nginx';
export const CADDY = '/usr/bin/caddy';

export interface ProxyProcess {
  url: string;
  port: number;
  dir: string;
  /** What the proxy wrote (its error log, or stderr). */
  log(): string;
  stop(): Promise<void>;
}

async function waitForPort(port: number, child: ChildProcess, log: () => string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the proxy exited (${child.exitCode}): ${log()}`);
    const up = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (up) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`the proxy did not listen on ${port} within ${timeoutMs} ms: ${log()}`);
}

function stopper(child: ChildProcess, dir: string): () => Promise<void> {
  return async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    }
    cleanupDir(dir);
  };
}

/** nginx with `config(dir, port)` as its whole nginx.conf, in the foreground. */
export async function startNginx(config: (dir: string, port: number) => string): Promise<ProxyProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'plangate-nginx-'));
  const port = await freePort();
  const file = join(dir, 'nginx.conf');
  writeFileSync(file, config(dir, port));
  const errorLog = join(dir, 'error.log');
  const child = spawn(NGINX, ['-p', dir, '-c', file, '-e', errorLog, '-g', 'daemon off;'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const log = () => stderr + (existsSync(errorLog) ? readFileSync(errorLog, 'utf8') : '');
  await waitForPort(port, child, log, 15_000);
  return { url: `http://127.0.0.1:${port}`, port, dir, log, stop: stopper(child, dir) };
}

/** Caddy with `config(dir, port)` as its Caddyfile; its data and config dirs are private to this run. */
export async function startCaddy(config: (dir: string, port: number) => string): Promise<ProxyProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'plangate-caddy-'));
  const port = await freePort();
  const file = join(dir, 'Caddyfile');
  writeFileSync(file, config(dir, port));
  for (const sub of ['home', 'data', 'config']) mkdirSync(join(dir, sub));
  const env = { ...process.env, HOME: join(dir, 'home'), XDG_DATA_HOME: join(dir, 'data'), XDG_CONFIG_HOME: join(dir, 'config') };
  const child = spawn(CADDY, ['run', '--config', file, '--adapter', 'caddyfile'], { stdio: ['ignore', 'pipe', 'pipe'], env });
  let output = '';
  child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
  await waitForPort(port, child, () => output, 20_000);
  return { url: `http://127.0.0.1:${port}`, port, dir, log: () => output, stop: stopper(child, dir) };
}
