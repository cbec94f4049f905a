// Picks the meter store for a config: Redis when `store.redis` names a URL, Sentinels or a Cluster,
// else the in-process memory store. Both come with the same health hook for readiness and metrics.
import type { EventLogger } from '../../events.js';
import type { Model } from '../model.js';
import { MemoryMeterStore } from './memory.js';
import { redisForm } from './redis-connection.js';
import { RedisMeterStore, type StoreHealth } from './redis.js';
import type { MeterStore } from './store.js';

export type MonitoredMeterStore = MeterStore & { readonly health: StoreHealth };

type StoreSettings = Pick<Model['store'], 'redis' | 'anonymousRetentionDays' | 'memoryMaxVisitors'>;

export function createMeterStore(config: StoreSettings, logger?: EventLogger): MonitoredMeterStore {
  if (config.redis !== undefined && redisForm(config.redis) !== null) {
    return new RedisMeterStore({ redis: config.redis, anonymousRetentionDays: config.anonymousRetentionDays, logger });
  }
  const store = new MemoryMeterStore({ maxVisitors: config.memoryMaxVisitors });
  const health: StoreHealth = {
    isReady: () => true,
    ping: async () => true,
    whenReady: async () => true,
    memory: async () => null,
    failures: () => ({ 'store-timeout': 0, 'store-unreachable': 0, 'store-error': 0 }),
    commandCount: 0,
  };
  return Object.assign(store, { health });
}
