// Starts a private redis-server on a free port (no persistence) for tests that need their own:
// the global run server, and outage/restart/NOSCRIPT tests that stop or flush it.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';

export interface RedisServerHandle {
  url: string;
  port: number;
  stop(): Promise<void>;
  /** Start again on the same port after stop(), with the same directory (a cluster node keeps its nodes.conf). */
  restart(): Promise<void>;
  /** The server's working directory. */
  dir: string;
  /** SIGSTOP (true) or SIGCONT (false): a stopped server holds its connections and reads nothing, as a frozen host. */
  freeze(frozen: boolean): void;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

const HOW_TO_INSTALL =
  'redis-server was not found on PATH. Install it (Debian/Ubuntu: `apt-get install -y redis-server`, macOS: `brew install redis`) or set REDIS_URL to a running Redis.';

export interface RedisServerOptions {
  port?: number;
  /** More redis-server arguments (cluster mode, maxmemory, ...). */
  args?: readonly string[];
  /**
   * Run as a Sentinel with this configuration (its `sentinel monitor ...` lines): written to a file
   * in the server's directory, which the Sentinel rewrites as it learns the group.
   */
  sentinel?: string;
}

export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServerHandle> {
  const chosen = options.port ?? (await freePort());
  const dir = mkdtempSync(join(tmpdir(), 'plangate-redis-'));
  let child: ChildProcess | undefined;
  // A Sentinel says it is up by naming the group it monitors.
  const ready = options.sentinel === undefined ? 'Ready to accept connections' : '+monitor master';
  if (options.sentinel !== undefined) writeFileSync(join(dir, 'sentinel.conf'), options.sentinel);

  const launch = () =>
    new Promise<void>((resolve, reject) => {
      const place = ['--port', String(chosen), '--bind', '127.0.0.1', '--dir', dir];
      // Later arguments win: options.args may turn persistence back on.
      const args =
        options.sentinel === undefined
          ? [...place, '--save', '', '--appendonly', 'no', ...(options.args ?? [])]
          : [join(dir, 'sentinel.conf'), '--sentinel', ...place, ...(options.args ?? [])];
      const proc = spawn('redis-server', args, {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child = proc;
      let output = '';
      const timer = setTimeout(() => reject(new Error(`redis-server did not start on port ${chosen}: ${output}`)), 10_000);
      proc.on('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(err.code === 'ENOENT' ? new Error(HOW_TO_INSTALL) : err);
      });
      proc.stdout!.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes(ready)) {
          clearTimeout(timer);
          resolve();
        }
      });
      proc.on('exit', (code) => {
        clearTimeout(timer);
        if (!output.includes(ready)) reject(new Error(`redis-server exited with ${code}: ${output}`));
      });
    });

  const kill = () =>
    new Promise<void>((resolve) => {
      const proc = child;
      if (!proc || proc.exitCode !== null || proc.signalCode !== null) return resolve();
      proc.once('exit', () => resolve());
      proc.kill('SIGKILL');
    });

  await launch();
  return {
    url: `redis://127.0.0.1:${chosen}`,
    port: chosen,
    stop: async () => {
      await kill();
    },
    restart: launch,
    dir,
    freeze(frozen) {
      child?.kill(frozen ? 'SIGSTOP' : 'SIGCONT');
    },
  };
}

export function cleanupDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/**
 * Runs `command` on a fresh connection to the server on `port` that never retries or queues, and
 * closes it (the cluster and Sentinel helpers ask each node or Sentinel this way).
 */
export async function askRedis<T>(port: number, command: (redis: Redis) => Promise<T>): Promise<T> {
  const redis = new Redis({
    host: '127.0.0.1',
    port,
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    connectTimeout: 1_000,
    retryStrategy: () => null,
  });
  redis.on('error', () => {});
  try {
    await redis.connect();
    return await command(redis);
  } finally {
    redis.disconnect();
  }
}
