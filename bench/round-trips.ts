// Redis round trips per plangate-full request: a fixed number of sequential requests (after wrk is
// done, so nothing else touches Redis), divided into the top-level script calls Redis counted, and
// cross-checked with the count the gateway's store keeps (`plangate_store_calls_total` on /metrics).
import http from 'node:http';
import { get, type Target } from './http-check.js';
import { resetCommandStats, scriptCalls } from './redis.js';

async function storeCalls(metricsUrl: string): Promise<number> {
  const text = await new Promise<string>((resolve, reject) => {
    http
      .get(metricsUrl, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve(body));
      })
      .on('error', reject);
  });
  const line = text.split('\n').find((l) => l.startsWith('plangate_store_calls_total '));
  if (line === undefined) throw new Error(`round-trip cross-check: no plangate_store_calls_total at ${metricsUrl}`);
  return Number(line.split(' ')[1]);
}

export async function measureRoundTrips(target: Target, redisUrl: string, requests: number): Promise<number> {
  // One request first so lazy work (script loading, JWT verification) is not counted.
  await get(target);
  await resetCommandStats(redisUrl);
  const storeBefore = target.metricsUrl === undefined ? undefined : await storeCalls(target.metricsUrl);
  for (let i = 0; i < requests; i++) {
    const reply = await get(target);
    if (reply.status !== 200) throw new Error(`round-trip measurement: ${target.url} answered ${reply.status}`);
  }
  const perRequest = (await scriptCalls(redisUrl)) / requests;
  if (storeBefore !== undefined) {
    const byStore = ((await storeCalls(target.metricsUrl!)) - storeBefore) / requests;
    if (byStore !== perRequest) {
      throw new Error(`round-trip cross-check failed: Redis counted ${perRequest} script calls per request, the gateway's store ${byStore}`);
    }
  }
  return perRequest;
}
