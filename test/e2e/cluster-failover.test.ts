// Decisions through a real gateway process on a real Redis Cluster while the primary serving the
// tested visitors is killed and its replica promoted, once per failure policy. During the fault every
// request is answered by the policy (closed: refused, never granted; open: granted and marked
// degraded), within a bound; afterwards the same process grants again by the meter, without a
// restart, and no visitor got more metered grants than the limit.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { anonymousIdsYaml, gatewayConfig, startEchoUpstream } from '../support/burst-scenarios.js';
import { testKeyPrefix } from '../support/env.js';
import { jwtVisitors, startGatewayLoad, type GatewayReply } from '../support/gateway-load.js';
import { visitorsInSlots } from '../support/meter-load.js';
import { startPlangate } from '../support/plangate-process.js';
import { startRedisCluster, type RedisCluster } from '../support/redis-cluster.js';

const LIMIT = 100;
/** Every request is answered within this, fault or not (generous for a loaded machine). */
const REPLY_BOUND_MS = 5_000;

let cluster: RedisCluster;
let upstream: { url: string; close(): Promise<void> };
let dir: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'plangate-cluster-failover-'));
  [cluster, upstream] = await Promise.all([startRedisCluster({ primaries: 3, replicasPerPrimary: 1, nodeTimeoutMs: 1_000 }), startEchoUpstream()]);
}, 60_000);
afterAll(async () => {
  await upstream?.close();
  await cluster?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe.each(['closed', 'open'] as const)('failurePolicy: %s, the primary of the visitors killed under load', (policy) => {
  it('answers by policy during the failover, grants by the meter again after it, and never past the limit', async () => {
    const prefix = testKeyPrefix(`cluster-failover-gw-${policy}`);
    const jwt = await jwtVisitors(dir);
    const store = { redisYaml: `cluster: [${cluster.seeds.map((s) => `{ host: "${s.host}", port: ${s.port} }`).join(', ')}]` };
    const file = gatewayConfig(dir, { store, keyPrefix: prefix }, upstream.url, anonymousIdsYaml(process.cwd()), LIMIT);
    const config = join(dir, `gateway-${policy}.yaml`);
    writeFileSync(config, readFileSync(file, 'utf8').replace('failurePolicy: open', `failurePolicy: ${policy}`));
    const gateway = await startPlangate({ command: 'gateway', config, env: { PLANGATE_LOG_LEVEL: 'warn', BURST_JWT_PUBLIC_KEY: jwt.publicKeyFile } });
    // A primary with a replica to take over (the first test's victim stays down; its replica has none).
    const nodes = await cluster.nodes();
    const victim = nodes.find((n) => n.role === 'primary' && n.running && nodes.some((r) => r.primaryId === n.id && r.running))!;
    try {
      const serves = (slot: number) => victim.slots.some(([a, b]) => slot >= a && slot <= b);
      const subjects = visitorsInSlots(6, serves, cluster.slotOf, `${prefix}user`, 'authenticated');
      const load = startGatewayLoad({ url: gateway.url, tokens: await jwt.tokens(subjects), inFlight: 12 });
      const metered = (r: GatewayReply) => r.status === 200 && !r.degraded;
      await load.replyAfter(0, metered, 20_000);
      const killedAt = performance.now();
      await cluster.kill(victim.port);
      const policyAt = await load.replyAfter(killedAt, (r) => (policy === 'closed' ? r.status === 402 : r.degraded), 20_000);
      const recoveredAt = await load.replyAfter(policyAt, metered, 25_000);
      await new Promise((r) => setTimeout(r, 300));
      const replies = await load.stop();
      const grants = subjects.map(() => 0);
      for (const r of replies) if (metered(r)) grants[r.visitor]++;
      const summary = JSON.stringify({
        statuses: count(replies.map((r) => `${r.status}${r.degraded ? ' degraded' : ''}`)),
        grants,
        recoveryMs: Math.round(recoveredAt - killedAt),
        slowestMs: Math.round(Math.max(...replies.map((r) => r.end - r.start))),
      });
      // Only grants, refusals and (open) degraded grants: nothing shed, no error page, no failed request.
      expect(replies.every((r) => r.status === 200 || r.status === 402), summary).toBe(true);
      if (policy === 'closed') expect(replies.some((r) => r.degraded), summary).toBe(false);
      expect(Math.max(...grants), summary).toBeLessThanOrEqual(LIMIT);
      expect(Math.max(...replies.map((r) => r.end - r.start)), summary).toBeLessThan(REPLY_BOUND_MS);
    } finally {
      await gateway.stop();
    }
  }, 120_000);
});

function count(values: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const v of values) counts[v] = (counts[v] ?? 0) + 1;
  return counts;
}
