// The chaos table's upstream row: one real gateway process over a healthy Redis, 16 requests in
// flight from 8 JWT visitors with a metered route, while the upstream goes away and comes back every
// 250 ms for 3 s. The gateway answers 502 while the upstream is gone; the decision was made (and
// the unit consumed) before the upstream failed, so a visitor's grants are their 200s and 502s
// together, and those must never pass the limit.
import { createServer, type Server } from 'node:http';
import { rmSync } from 'node:fs';
import { anonymousIdsYaml, gatewayConfig } from '../test/support/burst-scenarios.js';
import { jwtVisitors, startGatewayLoad, type GatewayReply } from '../test/support/gateway-load.js';
import { startPlangate } from '../test/support/plangate-process.js';
import { startRedisServer } from '../test/support/redis-server.js';
import type { ChaosRow } from './chaos.js';

const LIMIT = 300;
const VISITORS = 8;
const IN_FLIGHT = 16;
const FLAP_MS = 250;
const FLAPPING_MS = 3_000;


export async function flappingUpstreamRow(runs: number, dir: string): Promise<ChaosRow> {
  const redis = await startRedisServer();
  const upstream = await startFlappingUpstream();
  const jwt = await jwtVisitors(dir);
  const config = gatewayConfig(dir, { store: { redisYaml: `url: "${redis.url}"` }, keyPrefix: 'plangate-chaos:' }, upstream.url, anonymousIdsYaml(process.cwd()), LIMIT);
  const gateway = await startPlangate({ command: 'gateway', config, env: { PLANGATE_LOG_LEVEL: 'error', BURST_JWT_PUBLIC_KEY: jwt.publicKeyFile } });
  const rows: { during: GatewayReply[]; beyond: number; recoveryMs: number; p99Ms: number; grantsBefore: number }[] = [];
  try {
    for (let run = 0; run < runs; run++) {
      const tokens = await jwt.tokens(Array.from({ length: VISITORS }, (_, i) => `chaos-${Date.now()}-${run}-${i}`));
      const load = startGatewayLoad({ url: gateway.url, tokens, inFlight: IN_FLIGHT });
      const replies = load.replies;
      // The gateway's first requests verify tokens and open connections: let it settle first.
      await new Promise((r) => setTimeout(r, 1_000));
      const flapFrom = performance.now();
      const backAt = await upstream.flap(FLAPPING_MS, FLAP_MS);
      // The first 200 to a request sent after the upstream came back for good, then until every visitor is refused.
      const deadline = Date.now() + 20_000;
      const refusedAll = () => new Set(replies.filter((r) => r.status === 402 && r.start > backAt).map((r) => r.visitor)).size === VISITORS;
      while (Date.now() < deadline && !refusedAll()) await new Promise((r) => setTimeout(r, 100));
      await load.stop();
      const recovered = replies.filter((r) => r.status === 200 && r.start >= backAt).sort((a, b) => a.end - b.end)[0];
      const grants = new Array<number>(VISITORS).fill(0);
      for (const r of replies) if (r.status === 200 || r.status === 502 || r.status === 504) grants[r.visitor]++;
      const during = replies.filter((r) => r.start >= flapFrom && r.start < backAt);
      const times = during.map((r) => r.end - r.start).sort((a, b) => a - b);
      rows.push({
        during,
        beyond: grants.reduce((n, g) => n + Math.max(0, g - LIMIT), 0) + replies.filter((r) => ![200, 402, 502, 504].includes(r.status)).length,
        // No 200 at all after the upstream came back counts as never recovered.
        recoveryMs: recovered === undefined ? Number.POSITIVE_INFINITY : Math.round(recovered.end - backAt),
        p99Ms: Math.round(times[Math.min(times.length - 1, Math.floor(times.length * 0.99))] ?? 0),
        grantsBefore: replies.filter((r) => r.status === 200 && r.end <= flapFrom && r.end > flapFrom - 200).length,
      });
      const after: Record<number, number> = {};
      for (const r of replies) if (r.start >= backAt) after[r.status] = (after[r.status] ?? 0) + 1;
      console.error(
        `chaos: upstream flapping ${run + 1}/${runs}: ${during.length} requests during, beyond policy ${rows.at(-1)!.beyond}, after: ${JSON.stringify(after)}`,
      );
    }
  } finally {
    await gateway.stop();
    await upstream.close();
    await redis.stop();
    rmSync(redis.dir, { recursive: true, force: true });
  }
  const recoveries = rows.map((r) => r.recoveryMs).sort((a, b) => a - b);
  return {
    fault: `upstream flapping (down and up every ${FLAP_MS} ms for ${FLAPPING_MS / 1000} s), through a gateway process`,
    runs,
    duringFault: rows.reduce((n, r) => n + r.during.length, 0),
    byPolicy: rows.reduce((n, r) => n + r.during.filter((d) => d.status === 502 || d.status === 504).length, 0),
    beyondPolicy: rows.reduce((n, r) => n + r.beyond, 0),
    p99Ms: Math.max(...rows.map((r) => r.p99Ms)),
    recoveryMs: { median: recoveries[Math.floor(recoveries.length / 2)], max: recoveries.at(-1)! },
    lost: { total: 0, max: 0 },
    grantsBefore: Math.min(...rows.map((r) => r.grantsBefore)),
    note: '"answered by policy" are the 502s while the upstream was gone (the decision was made, the unit consumed); recovery counted from the upstream coming back',
  };
}

/** An upstream on a fixed port that can go away (connections dropped, port closed) and come back. */
async function startFlappingUpstream(): Promise<{ url: string; flap(forMs: number, everyMs: number): Promise<number>; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('ok');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  const down = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  const up = () => new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${port}`,
    async flap(forMs, everyMs) {
      const until = performance.now() + forMs;
      while (performance.now() < until) {
        await down();
        await new Promise((r) => setTimeout(r, everyMs));
        await up();
        await new Promise((r) => setTimeout(r, everyMs));
      }
      return performance.now();
    },
    close: down,
  };
}
