// A real Redis Cluster for tests, started from the `redis-server` binary: primaries and replicas on
// free ports, `cluster-node-timeout` short enough for failover tests, slots assigned with
// `redis-cli --cluster create`, and the whole thing torn down by stop(). Nothing is mocked: the
// meter store talks to it exactly as it would to a production cluster.
import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import calculateSlot from 'cluster-key-slot';
import { askRedis, startRedisServer, type RedisServerHandle } from './redis-server.js';

const run = promisify(execFile);

export interface ClusterNode {
  host: string;
  port: number;
  /** The node id from CLUSTER MYID. */
  id: string;
  role: 'primary' | 'replica';
  /** For a replica: the id of its primary. */
  primaryId?: string;
  /** Slot ranges a primary serves, as [first, last] pairs. */
  slots: [number, number][];
  /** False while the node is killed (it keeps its place in the list). */
  running: boolean;
}

export interface RedisClusterOptions {
  primaries?: number;
  replicasPerPrimary?: number;
  /** cluster-node-timeout: how long a node may be unreachable before it is failed over. */
  nodeTimeoutMs?: number;
  /** Extra redis-server arguments for every node. */
  args?: readonly string[];
}

export interface RedisCluster {
  /** The startup nodes for `store.redis.cluster`. */
  readonly seeds: { host: string; port: number }[];
  /** Every node as the cluster sees it now (roles change after a failover). */
  nodes(): Promise<ClusterNode[]>;
  /** The slot of a key (its hash tag when it has one). */
  slotOf(key: string): number;
  /** The primary serving a slot now. */
  ownerOf(slot: number): Promise<ClusterNode>;
  /** SIGKILL one node (by port); the others notice within the node timeout. */
  kill(port: number): Promise<void>;
  /** SIGSTOP (true) or SIGCONT (false) one node: frozen, it reads nothing of its primary's replication stream. */
  freeze(port: number, frozen: boolean): void;
  /** Start a killed node again on its port with its nodes.conf: it rejoins (as a replica when it was failed over). */
  restart(port: number): Promise<void>;
  /** Resolves when every running node reports cluster_state:ok, agrees on who serves every slot, and every replica has synced. */
  waitUntilOk(timeoutMs?: number): Promise<void>;
  /** Kills every node and removes their directories. */
  stop(): Promise<void>;
}

const HOW_TO_INSTALL = 'redis-cli was not found on PATH. Install it with redis-server (Debian/Ubuntu: `apt-get install -y redis-server`).';

export async function startRedisCluster(options: RedisClusterOptions = {}): Promise<RedisCluster> {
  const primaries = options.primaries ?? 3;
  const replicas = options.replicasPerPrimary ?? 1;
  const nodeTimeoutMs = options.nodeTimeoutMs ?? 1_000;
  // A replica syncs at once (the default waits 5 s to batch diskless syncs): one that has never
  // synced refuses to be promoted, and a failover test would wait for a failover that never comes.
  const args = [
    '--cluster-enabled',
    'yes',
    '--cluster-config-file',
    'nodes.conf',
    '--cluster-node-timeout',
    String(nodeTimeoutMs),
    '--repl-diskless-sync-delay',
    '0',
    ...(options.args ?? []),
  ];
  const servers = new Map<number, RedisServerHandle>();
  const down = new Set<number>();
  const stop = async () => {
    await Promise.all([...servers.values()].map((s) => s.stop()));
    for (const s of servers.values()) rmSync(s.dir, { recursive: true, force: true });
    servers.clear();
  };
  try {
    for (const server of await Promise.all(Array.from({ length: primaries * (1 + replicas) }, () => startRedisServer({ args }))))
      servers.set(server.port, server);
    const addresses = [...servers.keys()].map((port) => `127.0.0.1:${port}`);
    await run('redis-cli', ['--cluster', 'create', ...addresses, '--cluster-replicas', String(replicas), '--cluster-yes'], { timeout: 60_000 }).catch(
      (err: NodeJS.ErrnoException & { stdout?: string; stderr?: string }) => {
        throw err.code === 'ENOENT' ? new Error(HOW_TO_INSTALL) : new Error(`redis-cli --cluster create failed: ${err.stderr || err.stdout || err.message}`);
      },
    );
  } catch (err) {
    await stop();
    throw err;
  }

  const ask = askRedis;

  const nodes = async (): Promise<ClusterNode[]> => {
    const view = new Map<number, ParsedNode>();
    for (const port of servers.keys()) {
      if (down.has(port)) continue;
      const text = await ask(port, (r) => r.cluster('NODES') as Promise<string>).catch(() => undefined);
      if (text === undefined) continue;
      for (const node of parseClusterNodes(text)) if (!view.has(node.port) || node.self) view.set(node.port, node);
    }
    return [...servers.keys()].map((port) => {
      const seen = view.get(port);
      const base: ClusterNode = seen
        ? { host: '127.0.0.1', port, id: seen.id, role: seen.role, slots: seen.slots, running: !down.has(port) }
        : { host: '127.0.0.1', port, id: '', role: 'replica', slots: [], running: false };
      if (seen?.primaryId !== undefined) base.primaryId = seen.primaryId;
      return base;
    });
  };

  const waitUntilOk = async (timeoutMs = 30_000): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    let last = '';
    for (;;) {
      const running = [...servers.keys()].filter((p) => !down.has(p));
      const states = await Promise.all(
        running.map((port) =>
          ask(port, async (r) => ({
            info: (await r.cluster('INFO')) as string,
            slots: JSON.stringify(await r.cluster('SLOTS')),
            replication: await r.info('replication'),
          })).catch((e: Error) => ({
            info: `unreachable: ${e.message}`,
            slots: '',
            replication: '',
          })),
        ),
      );
      // A replica counts once it has synced with its primary (only then can it take over).
      const synced = (replication: string) => !replication.includes('role:slave') || replication.includes('master_link_status:up');
      const ok = states.every((s) => s.info.includes('cluster_state:ok') && s.info.includes('cluster_slots_ok:16384') && synced(s.replication));
      const agreed = new Set(states.map((s) => normalizeSlots(s.slots))).size === 1;
      if (ok && agreed) return;
      last = states.map((s, i) => `${running[i]}: ${/cluster_state:\w+/.exec(s.info)?.[0] ?? s.info}${synced(s.replication) ? '' : ' (replica not synced)'}`).join(', ');
      if (Date.now() > deadline) throw new Error(`the cluster is not ok after ${timeoutMs} ms (${last})`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  await waitUntilOk().catch(async (err: unknown) => {
    await stop();
    throw err;
  });

  return {
    seeds: [...servers.keys()].map((port) => ({ host: '127.0.0.1', port })),
    nodes,
    slotOf: (key) => calculateSlot(key),
    async ownerOf(slot) {
      const owner = (await nodes()).find((n) => n.running && n.role === 'primary' && n.slots.some(([a, b]) => slot >= a && slot <= b));
      if (owner === undefined) throw new Error(`no running primary serves slot ${slot}`);
      return owner;
    },
    async kill(port) {
      const server = servers.get(port);
      if (server === undefined) throw new Error(`no cluster node on port ${port}`);
      down.add(port);
      await server.stop();
    },
    freeze(port, frozen) {
      const server = servers.get(port);
      if (server === undefined) throw new Error(`no cluster node on port ${port}`);
      server.freeze(frozen);
    },
    async restart(port) {
      const server = servers.get(port);
      if (server === undefined) throw new Error(`no cluster node on port ${port}`);
      await server.restart();
      down.delete(port);
    },
    waitUntilOk,
    stop,
  };
}

interface ParsedNode extends Omit<ClusterNode, 'running' | 'host'> {
  self: boolean;
}

/** CLUSTER NODES: `<id> <ip:port@cport> <flags> <primary> <ping> <pong> <epoch> <link> <slot>...` per line. */
function parseClusterNodes(text: string): ParsedNode[] {
  const nodes: ParsedNode[] = [];
  for (const line of text.trim().split('\n')) {
    const [id, address, flags, primary, , , , , ...slotFields] = line.trim().split(' ');
    const port = Number(/:(\d+)@/.exec(address)?.[1]);
    const flagList = flags.split(',');
    if (flagList.includes('fail') || flagList.includes('noaddr')) continue;
    const slots: [number, number][] = [];
    for (const field of slotFields) {
      if (field.startsWith('[')) continue; // a slot being migrated
      const [a, b] = field.split('-').map(Number);
      slots.push([a, b ?? a]);
    }
    const node: ParsedNode = { id, port, role: flagList.includes('master') ? 'primary' : 'replica', slots, self: flagList.includes('myself') };
    if (primary !== '-') node.primaryId = primary;
    nodes.push(node);
  }
  return nodes;
}

/** CLUSTER SLOTS as [first, last, primary port] sorted, to compare the views of two nodes. */
function normalizeSlots(json: string): string {
  if (json === '') return '';
  const ranges = JSON.parse(json) as [number, number, [string, number, string]][];
  return JSON.stringify(ranges.map(([a, b, primary]) => [a, b, primary[1]]).sort((x, y) => x[0] - y[0]));
}

/**
 * Moves one slot from its primary to another, key by key, the way `redis-cli --cluster reshard` does:
 * IMPORTING on the target, MIGRATING on the source, MIGRATE each key, then SETSLOT NODE everywhere.
 * `pauseMs` between keys keeps the slot half-moved for a while, so calls meet ASK and TRYAGAIN.
 */
export async function migrateSlot(
  cluster: RedisCluster,
  slot: number,
  to: ClusterNode,
  options: { pauseMs?: number } = {},
): Promise<{ keys: number }> {
  const from = await cluster.ownerOf(slot);
  if (from.port === to.port) throw new Error(`slot ${slot} is already served by ${to.port}`);
  const connect = (port: number) => new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: 0 });
  const source = connect(from.port);
  const target = connect(to.port);
  let keys = 0;
  try {
    await target.cluster('SETSLOT', slot, 'IMPORTING', from.id);
    await source.cluster('SETSLOT', slot, 'MIGRATING', to.id);
    for (;;) {
      const batch = (await source.cluster('GETKEYSINSLOT', slot, 1)) as string[];
      if (batch.length === 0) break;
      await source.migrate('127.0.0.1', to.port, '', 0, 5_000, 'KEYS', ...batch);
      keys += batch.length;
      if (options.pauseMs) await new Promise((r) => setTimeout(r, options.pauseMs));
    }
    // The target first, then the source (it stops answering ASK), then everyone else.
    await target.cluster('SETSLOT', slot, 'NODE', to.id);
    await source.cluster('SETSLOT', slot, 'NODE', to.id);
    for (const node of await cluster.nodes()) {
      if (!node.running || node.role !== 'primary' || node.port === to.port || node.port === from.port) continue;
      const other = connect(node.port);
      try {
        await other.cluster('SETSLOT', slot, 'NODE', to.id);
      } finally {
        other.disconnect();
      }
    }
  } finally {
    source.disconnect();
    target.disconnect();
  }
  return { keys };
}
