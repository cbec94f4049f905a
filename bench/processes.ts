// Every child the harness starts is registered here, so one call stops them all: at the end of a run,
// on an error, and on Ctrl-C. Servers run in their own processes so the harness never competes with
// them for CPU while wrk is measuring.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { closeSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';

export interface ChildHandle {
  name: string;
  process: ChildProcess;
  /** The first few KB the child wrote (stdout and stderr), for the message when it fails to start. */
  output(): string;
  /** Resolves with the exit code (or the signal name) when the child ends. */
  exited: Promise<number | string>;
  stop(): Promise<void>;
}

const OUTPUT_KEEP = 8192;
const STOP_GRACE_MS = 3000;
const children = new Set<ChildHandle>();
let logDir: string | undefined;

/**
 * Children write stdout and stderr straight to a file in this dir (the kernel does the work): a
 * gateway logging a line per request into a pipe would make the harness read it, stealing CPU from
 * the servers it measures. Without a dir, output is discarded.
 */
export function setChildLogDir(dir: string): void {
  logDir = dir;
}

export function spawnChild(name: string, command: string, args: readonly string[], options: SpawnOptions = {}): ChildHandle {
  const logFile = logDir ? join(logDir, `${name}-${Date.now().toString(36)}.log`) : undefined;
  const fd = logFile ? openSync(logFile, 'a') : 'ignore';
  const proc = spawn(command, args, { ...options, stdio: ['ignore', fd, fd] });
  if (typeof fd === 'number') closeSync(fd);
  let failure = '';
  const exited = new Promise<number | string>((resolve) => {
    proc.once('error', (err) => {
      failure = err.message;
      resolve(-1);
    });
    proc.once('exit', (code, signal) => resolve(code ?? signal ?? -1));
  });
  const output = (): string => {
    if (!logFile) return failure;
    const buffer = Buffer.alloc(OUTPUT_KEEP);
    const file = openSync(logFile, 'r');
    try {
      return (buffer.subarray(0, readSync(file, buffer, 0, OUTPUT_KEEP, 0)).toString() + failure).trim();
    } finally {
      closeSync(file);
    }
  };
  const handle: ChildHandle = {
    name,
    process: proc,
    output,
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
