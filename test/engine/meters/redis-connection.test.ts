// Connection forms and their fail-fast options (no server needed: the options are checked before a
// client is built), plus the choice between the memory and the Redis store.
import { describe, expect, it } from 'vitest';
import { DEFAULT_COMMAND_TIMEOUT_MS, redisClientOptions, redisForm } from '../../../src/engine/meters/redis-connection.js';
import { createMeterStore } from '../../../src/engine/meters/create-store.js';
import { testKeyPrefix, testRedisUrl } from '../../support/env.js';

const storeSettings = { anonymousRetentionDays: 400, memoryMaxVisitors: 10 };

describe('redis connection forms', () => {
  it('a URL, with fields overriding it and TLS from rediss:// or tls: true', () => {
    const built = redisClientOptions({ url: 'rediss://user:secret@cache.example:6380/2', password: 'override', tls: true, commandTimeoutMs: 50 });
    expect(built.form).toBe('url');
    if (built.form !== 'url') return;
    expect(built.url).toBe('rediss://user:secret@cache.example:6380/2');
    expect(built.options).toMatchObject({ password: 'override', tls: {}, enableOfflineQueue: false, maxRetriesPerRequest: 0 });
    // No per-command timer: a command's age includes the process's own backlog; the store judges progress.
    expect(built.options.commandTimeout).toBeUndefined();
  });

  it('Sentinels with the master name', () => {
    const built = redisClientOptions({
      sentinels: [
        { host: 's1', port: 26379 },
        { host: 's2', port: 26379 },
      ],
      name: 'mymaster',
      password: 'p',
    });
    expect(built.form).toBe('sentinel');
    expect(built.options).toMatchObject({
      name: 'mymaster',
      sentinels: [
        { host: 's1', port: 26379 },
        { host: 's2', port: 26379 },
      ],
      password: 'p',
      enableOfflineQueue: false,
    });
  });

  it('a Cluster, with fail-fast options on every node', () => {
    const built = redisClientOptions({ cluster: [{ host: 'n1', port: 7000 }], username: 'u', tls: true });
    expect(built.form).toBe('cluster');
    if (built.form !== 'cluster') return;
    expect(built.nodes).toEqual([{ host: 'n1', port: 7000 }]);
    expect(built.options).toMatchObject({ enableOfflineQueue: false, redisOptions: { username: 'u', tls: {}, maxRetriesPerRequest: 0 } });
    expect(built.options.redisOptions?.commandTimeout).toBeUndefined();
  });

  it('a Cluster retries TRYAGAIN well inside the command timeout, and follows enough redirections for a slot being migrated', () => {
    // A call waiting out a TRYAGAIN retry has no reply coming: ioredis's default of 100 ms failed
    // calls with store-timeout at the 80 ms default timeout (docs/redis.md, "Slot migration").
    const built = redisClientOptions({ cluster: [{ host: 'n1', port: 7000 }] });
    if (built.form !== 'cluster') throw new Error('expected the cluster form');
    expect(built.options.retryDelayOnTryAgain).toBeLessThanOrEqual(DEFAULT_COMMAND_TIMEOUT_MS / 8);
    expect(built.options.maxRedirections).toBeGreaterThanOrEqual(8);
  });

  it('reconnects forever with a capped backoff', () => {
    const built = redisClientOptions({ url: 'redis://localhost' });
    expect(built.form).toBe('url');
    if (built.form !== 'url') return;
    const retry = built.options.retryStrategy as (times: number) => number;
    expect([1, 2, 3, 50, 10_000].map(retry)).toEqual([100, 200, 400, 1_000, 1_000]);
  });

  it('says which form to choose when the config is ambiguous or incomplete', () => {
    expect(() => redisForm({ url: 'redis://a', cluster: [{ host: 'b', port: 1 }] })).toThrow(/store\.redis: url and cluster are both set; choose one/);
    expect(() => redisForm({ sentinels: [{ host: 'a', port: 1 }] })).toThrow(/store\.redis\.name: missing/);
    expect(() => redisForm({ url: 'localhost:6379' })).toThrow(/store\.redis\.url: "localhost:6379" is not a Redis URL/);
  });

  it('no Redis (absent or an empty url, as in "${REDIS_URL:-}") means the memory store', async () => {
    expect(redisForm(undefined)).toBeNull();
    expect(redisForm({ url: '  ' })).toBeNull();
    const store = createMeterStore({ ...storeSettings, redis: { url: '', keyPrefix: 'x:', commandTimeoutMs: 80, connectTimeoutMs: 1000 } });
    expect(store.kind).toBe('memory');
    expect(store.health.isReady()).toBe(true);
    await store.close();
  });

  it('a Redis URL means the Redis store', async () => {
    const store = createMeterStore({
      ...storeSettings,
      redis: { url: testRedisUrl(), keyPrefix: testKeyPrefix('create-store'), commandTimeoutMs: 1_000, connectTimeoutMs: 1_000 },
    });
    try {
      expect(store.kind).toBe('redis');
      await expect.poll(() => store.health.ping(), { timeout: 5_000 }).toBe(true);
    } finally {
      await store.close();
    }
  });
});
