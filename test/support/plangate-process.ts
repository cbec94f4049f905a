// A real `plangate serve` or `plangate gateway` in its own process (through tsx, from a checkout
// root), with its log lines parsed as they arrive: tests and the bench count the events it logged.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface LoggedEvent {
  level: number;
  code?: string;
  [field: string]: unknown;
}

export interface PlangateProcess {
  /** `http://127.0.0.1:<port>` of the decision API (`serve`) or the gateway (`gateway`). */
  url: string;
  /** Every JSON log line so far, parsed. */
  events: LoggedEvent[];
  /** The process id (to send it a signal). */
  pid: number;
  /** Log lines at warn (40) or above, as `code` (or the message) strings. */
  problems(): string[];
  stop(): Promise<void>;
}

export interface PlangateProcessOptions {
  command: 'serve' | 'gateway';
  config: string;
  env: Record<string, string>;
  /** The checkout to run (default: this one). */
  root?: string;
  startTimeoutMs?: number;
}

const BANNER = /listening on (http:\/\/\S+)/;
const WARN = 40;

export async function startPlangate(options: PlangateProcessOptions): Promise<PlangateProcess> {
  const root = options.root ?? process.cwd();
  // An older checkout (the bench's baselines) has the CLI at src/cli.ts.
  const cli = existsSync(join(root, 'src/cli/main.ts')) ? 'src/cli/main.ts' : 'src/cli.ts';
  const args = ['--import', 'tsx', cli, options.command, options.config, '--host', '127.0.0.1', '--port', '0'];
  if (options.command === 'gateway') args.push('--ops-port', '0', '--no-watch');
  const child: ChildProcess = spawn(process.execPath, args, {
    cwd: root,
    env: { ...process.env, NODE_ENV: 'production', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const events: LoggedEvent[] = [];
  const other: string[] = [];
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`plangate ${options.command} did not start within ${options.startTimeoutMs ?? 30_000} ms: ${stderr}`)),
      options.startTimeoutMs ?? 30_000,
    );
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`plangate ${options.command} exited (${code}) before listening: ${stderr}${other.join('\n')}`));
    });
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (line.startsWith('{')) {
        try {
          events.push(JSON.parse(line) as LoggedEvent);
          return;
        } catch {
          // not a log line
        }
      }
      other.push(line);
      const banner = BANNER.exec(line);
      if (banner && !line.startsWith('ops')) {
        clearTimeout(timer);
        resolve(banner[1]);
      }
    });
  });
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  return {
    url,
    events,
    pid: child.pid!,
    problems: () => [
      ...events.filter((e) => e.level >= WARN).map((e) => String(e.code ?? e.msg ?? JSON.stringify(e))),
      ...(stderr.trim() === '' ? [] : [`stderr: ${stderr.trim().slice(0, 500)}`]),
    ],
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 3_000);
        await exited;
        clearTimeout(timer);
      }
    },
  };
}
