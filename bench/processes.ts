// Every child the harness starts is registered here, so one call stops them all: at the end of a run,
// on an error, and on Ctrl-C. Servers run in their own processes so the harness never competes with
// them for CPU while wrk is measuring.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';

export interface ChildHandle {
  name: string;
  process: ChildProcess;
  /** The last few KB of stdout and stderr, for the error message when the child dies. */
  output(): string;
  /** Resolves with the exit code (or the signal name) when the child ends. */
  exited: Promise<number | string>;
  stop(): Promise<void>;
}

const OUTPUT_KEEP = 8192;
const STOP_GRACE_MS = 3000;
const children = new Set<ChildHandle>();

export function spawnChild(name: string, command: string, args: readonly string[], options: SpawnOptions = {}): ChildHandle {
  const proc = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
  let tail = '';
  const keep = (chunk: Buffer) => {
    tail = (tail + chunk.toString()).slice(-OUTPUT_KEEP);
  };
  proc.stdout?.on('data', keep);
  proc.stderr?.on('data', keep);
  const exited = new Promise<number | string>((resolve) => {
    proc.once('error', (err) => {
      tail += `\n${err.message}`;
      resolve(-1);
    });
    proc.once('exit', (code, signal) => resolve(code ?? signal ?? -1));
  });
  const handle: ChildHandle = {
    name,
    process: proc,
    output: () => tail.trim(),
    exited,
    stop: async () => {
      children.delete(handle);
      if (proc.exitCode !== null || proc.signalCode !== null || proc.pid === undefined) return;
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), STOP_GRACE_MS);
      await exited;
      clearTimeout(timer);
    },
  };
  children.add(handle);
  return handle;
}

/** Anything else that must be stopped on exit (the redis-server handle, temp dirs). */
const extraCleanups: (() => Promise<void> | void)[] = [];
export function onCleanup(fn: () => Promise<void> | void): void {
  extraCleanups.push(fn);
}

export async function stopAll(): Promise<void> {
  await Promise.allSettled([...children].map((child) => child.stop()));
  for (const fn of extraCleanups.splice(0).reverse()) {
    try {
      await fn();
    } catch (err) {
      console.error(`cleanup failed: ${(err as Error).message}`);
    }
  }
}

/** Stop every child on Ctrl-C, SIGTERM and on crashes, then exit with a code that says what happened. */
export function installExitHandlers(): void {
  let stopping = false;
  const bail = (code: number, why: string) => {
    if (stopping) return;
    stopping = true;
    console.error(`\n${why}: stopping every child process...`);
    void stopAll().finally(() => process.exit(code));
  };
  process.once('SIGINT', () => bail(130, 'interrupted'));
  process.once('SIGTERM', () => bail(143, 'terminated'));
  process.on('uncaughtException', (err) => {
    console.error(err);
    bail(1, 'uncaught exception');
  });
  process.on('unhandledRejection', (err) => {
    console.error(err);
    bail(1, 'unhandled rejection');
  });
}

/** `node --import tsx <file>`: TypeScript children without a build step (tsx only transforms at load time). */
export function spawnTsChild(name: string, file: string, env: Record<string, string>): ChildHandle {
  return spawnChild(name, process.execPath, ['--import', 'tsx', file], { env: { ...process.env, ...env } });
}
