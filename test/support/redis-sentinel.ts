// A real Redis Sentinel group for tests: one primary, its replicas and three Sentinels, all started
// from the `redis-server` binary (a Sentinel is `redis-server <config> --sentinel`, with its config
// file generated in its own temp directory), on free ports, torn down by stop(). The Sentinels judge
// a primary down after `downAfterMs` and agree by a quorum of 2 before they promote a replica.
import { rmSync } from 'node:fs';
import { askRedis, startRedisServer, type RedisServerHandle } from './redis-server.js';

export interface RedisSentinelOptions {
  /** The group's name (`store.redis.name`). */
  name?: string;
  replicas?: number;
  sentinels?: number;
  /** down-after-milliseconds: how long the primary may be silent before the Sentinels act. */
  downAfterMs?: number;
}

export interface RedisSentinelGroup {
  readonly name: string;
  /** The Sentinels' addresses, for `store.redis.sentinels`. */
  readonly sentinels: { host: string; port: number }[];
  /** The data servers' ports (primary first, as started; roles change after a failover). */
  readonly servers: number[];
  /** The primary the Sentinels name now. */
  primary(): Promise<{ host: string; port: number }>;
  /** SIGKILL a data server (by port). */
  kill(port: number): Promise<void>;
  /** Start a killed data server again on its port (the Sentinels make it a replica if it was failed over). */
  restart(port: number): Promise<void>;
  /** Resolves when every Sentinel names a running primary whose replicas have all synced with it. */
  waitUntilStable(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

const SYNC_AT_ONCE = ['--repl-diskless-sync-delay', '0'];

export async function startRedisSentinel(options: RedisSentinelOptions = {}): Promise<RedisSentinelGroup> {
  const name = options.name ?? 'plangate-primary';
  const downAfterMs = options.downAfterMs ?? 1_000;
  const handles: RedisServerHandle[] = [];
  const down = new Set<number>();
  const stop = async () => {
    await Promise.all(handles.map((h) => h.stop()));
    for (const h of handles) rmSync(h.dir, { recursive: true, force: true });
    handles.length = 0;
  };
  const data = new Map<number, RedisServerHandle>();
  const sentinels: RedisServerHandle[] = [];
  try {
    const primary = await startRedisServer({ args: SYNC_AT_ONCE });
    handles.push(primary);
    data.set(primary.port, primary);
    for (const replica of await Promise.all(
      Array.from({ length: options.replicas ?? 1 }, () => startRedisServer({ args: [...SYNC_AT_ONCE, '--replicaof', '127.0.0.1', String(primary.port)] })),
    )) {
      handles.push(replica);
      data.set(replica.port, replica);
    }
    const config = [
      `sentinel monitor ${name} 127.0.0.1 ${primary.port} 2`,
      `sentinel down-after-milliseconds ${name} ${downAfterMs}`,
      `sentinel failover-timeout ${name} ${Math.max(3 * downAfterMs, 3_000)}`,
      `sentinel parallel-syncs ${name} 1`,
      '',
    ].join('\n');
    for (const sentinel of await Promise.all(Array.from({ length: options.sentinels ?? 3 }, () => startRedisServer({ sentinel: config })))) {
      handles.push(sentinel);
      sentinels.push(sentinel);
    }
  } catch (err) {
    await stop();
    throw err;
  }

  const ask = askRedis;
  const named = (port: number) => ask(port, (r) => r.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', name) as Promise<[string, string] | null>);

  const waitUntilStable = async (timeoutMs = 30_000): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    let last = '';
    for (;;) {
      const views = await Promise.all(sentinels.map((s) => named(s.port).catch(() => null)));
      const ports = new Set(views.map((v) => (v === null ? 'none' : v[1])));
      const port = Number([...ports][0]);
      if (ports.size === 1 && data.has(port) && !down.has(port)) {
        const replication = await ask(port, (r) => r.info('replication')).catch(() => '');
        const replicas = [...data.keys()].filter((p) => p !== port && !down.has(p));
        const online = replicas.every((p) => new RegExp(`slave\\d+:ip=127\\.0\\.0\\.1,port=${p},state=online`).test(replication));
        // Every Sentinel must know the others (a failover needs a majority of them to elect a leader)
        // and the replicas (only a replica it knows can be promoted).
        const known = await Promise.all(
          sentinels.map((s) =>
            ask(s.port, async (r) => ({
              sentinels: ((await r.call('SENTINEL', 'SENTINELS', name)) as unknown[]).length,
              replicas: ((await r.call('SENTINEL', 'REPLICAS', name)) as unknown[]).length,
            })).catch(() => ({ sentinels: -1, replicas: -1 })),
          ),
        );
        const acquainted = known.every((k) => k.sentinels === sentinels.length - 1 && k.replicas >= replicas.length);
        if (replication.includes('role:master') && online && acquainted) return;
        last = `primary ${port}: ${/connected_slaves:\d+/.exec(replication)?.[0] ?? 'unreachable'}; Sentinels know ${JSON.stringify(known)}`;
      } else last = `the Sentinels name ${[...ports].join(', ')}`;
      if (Date.now() > deadline) throw new Error(`the Sentinel group is not stable after ${timeoutMs} ms (${last})`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  await waitUntilStable().catch(async (err: unknown) => {
    await stop();
    throw err;
  });

  const server = (port: number) => {
    const handle = data.get(port);
    if (handle === undefined) throw new Error(`no data server of the Sentinel group on port ${port}`);
    return handle;
  };
  return {
    name,
    sentinels: sentinels.map((s) => ({ host: '127.0.0.1', port: s.port })),
    servers: [...data.keys()],
    async primary() {
      for (const s of sentinels) {
        const view = await named(s.port).catch(() => null);
        if (view !== null) return { host: view[0], port: Number(view[1]) };
      }
      throw new Error(`no Sentinel names a primary for ${name}`);
    },
    async kill(port) {
      down.add(port);
      await server(port).stop();
    },
    async restart(port) {
      await server(port).restart();
      down.delete(port);
    },
    waitUntilStable,
    stop,
  };
}
