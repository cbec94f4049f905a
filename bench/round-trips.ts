// Redis round trips per plangate-full request: a fixed number of sequential requests (after wrk is
// done, so nothing else touches Redis), divided into the top-level script calls Redis counted.
import { get, type Target } from './http-check.js';
import { resetCommandStats, scriptCalls } from './redis.js';

export async function measureRoundTrips(target: Target, redisUrl: string, requests: number): Promise<number> {
  // One request first so lazy work (script loading, JWT verification) is not counted.
  await get(target);
  await resetCommandStats(redisUrl);
  for (let i = 0; i < requests; i++) {
    const reply = await get(target);
    if (reply.status !== 200) throw new Error(`round-trip measurement: ${target.url} answered ${reply.status}`);
  }
  return (await scriptCalls(redisUrl)) / requests;
}
