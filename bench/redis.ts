// The harness's own redis-server (free port, no persistence; test/support's launcher) and the count
// of top-level script calls, which is what "Redis round trips" means for the meter store.
import { Redis } from 'ioredis';
import { startRedisServer, type RedisServerHandle } from '../test/support/redis-server.js';

export { startRedisServer, type RedisServerHandle };

/**
 * Top-level EVALSHA/EVAL calls since the last reset. Redis's command statistics also count the
 * commands a script runs (under their own names), so only the script-call entries are summed.
 */
export async function scriptCalls(url: string): Promise<number> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    const info = await redis.info('commandstats');
    let total = 0;
    for (const match of info.matchAll(/^cmdstat_(evalsha|eval|evalsha_ro|eval_ro|fcall|fcall_ro):calls=(\d+)/gm)) total += Number(match[2]);
    return total;
  } finally {
    redis.disconnect();
  }
}

export async function resetCommandStats(url: string): Promise<void> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    await redis.config('RESETSTAT');
  } finally {
    redis.disconnect();
  }
}
