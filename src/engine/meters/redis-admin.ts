// The admin operations of the Redis store (docs/admin.md): grants, a visitor's keys, idempotency
// records. Plain commands, never on the request path; each is bounded and classified by the store
// (`call`), like a meter call.
import { Cluster, type Redis } from 'ioredis';
import type { RedisClient } from './redis-connection.js';
import { bucketKey, grantsKey, grantsPattern, idempotencyKey, resourceSetKey, visitorPattern, visitorTag } from './redis-keys.js';
import type { Grant, IdempotencyClaim, StoreAdmin, Visitor, VisitorGrant } from './store.js';

/** What a claimed idempotency key holds until its answer is stored. */
const PENDING = '\u0000pending';
const SCAN_COUNT = 500;

export function redisAdmin(client: RedisClient, prefix: string, call: <T>(work: () => Promise<T>) => Promise<T>): StoreAdmin {
  const key = (visitor: Visitor) => grantsKey(prefix, visitorTag(visitor));
  return {
    grants: (visitor) =>
      call(async () => {
        const raw = await client.hgetall(key(visitor));
        return Object.values(raw).map(decodeGrant);
      }),
    putGrant: (visitor, grant) =>
      call(async () => {
        // The visitor is kept beside the grant (in clear: export needs it; meters keep only a hash).
        await client.hset(key(visitor), grant.plan, JSON.stringify({ ...grant, visitor: { userType: visitor.userType, identifier: visitor.identifier } }));
      }),
    removeGrant: (visitor, plan) => call(async () => (await client.hdel(key(visitor), plan)) > 0),
    allGrants: () => everyGrant(client, prefix, call),
    resetCounter: (visitor, counterId, periods, now) =>
      call(async () => {
        const tag = visitorTag(visitor);
        const keys = periods.flatMap((period) => {
          const count = bucketKey(prefix, tag, counterId, period, now);
          return [count, resourceSetKey(count)];
        });
        await client.del(...keys);
      }),
    forget: (visitor) =>
      call(async () => {
        let removed = 0;
        for await (const keys of scan(client, visitorPattern(prefix, visitorTag(visitor)))) if (keys.length > 0) removed += await client.del(...keys);
        return removed;
      }),
    claimIdempotency: (idempotency, ttlMs) =>
      call(async (): Promise<IdempotencyClaim> => {
        const record = idempotencyKey(prefix, idempotency);
        if ((await client.set(record, PENDING, 'PX', ttlMs, 'NX')) === 'OK') return { state: 'claimed' };
        const held = await client.get(record);
        if (held === null) return (await client.set(record, PENDING, 'PX', ttlMs, 'NX')) === 'OK' ? { state: 'claimed' } : { state: 'pending' };
        return held === PENDING ? { state: 'pending' } : { state: 'done', answer: held };
      }),
    settleIdempotency: (idempotency, answer, ttlMs) =>
      call(async () => {
        const record = idempotencyKey(prefix, idempotency);
        if (answer === null) await client.del(record);
        else await client.set(record, answer, 'PX', ttlMs);
      }),
  };
}

/** A grant as stored (`putGrant` writes it, with its visitor beside it for export). */
export function decodeGrant(json: string): Grant {
  const { plan, expiresAt, grantedAt, by, note } = JSON.parse(json) as Grant;
  return note === undefined ? { plan, expiresAt, grantedAt, by } : { plan, expiresAt, grantedAt, by, note };
}

/** SCAN MATCH over every primary (a Cluster's keys are spread over its nodes), a batch of keys at a time. */
async function* scan(client: RedisClient, pattern: string): AsyncIterable<string[]> {
  const nodes: Redis[] = client instanceof Cluster ? client.nodes('master') : [client];
  for (const node of nodes) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', SCAN_COUNT);
      cursor = next;
      yield keys;
    } while (cursor !== '0');
  }
}

async function* everyGrant(client: RedisClient, prefix: string, call: <T>(work: () => Promise<T>) => Promise<T>): AsyncIterable<VisitorGrant> {
  const batches = scan(client, grantsPattern(prefix))[Symbol.asyncIterator]();
  for (;;) {
    const batch = await call(() => batches.next());
    if (batch.done === true) return;
    for (const hashKey of batch.value) {
      const raw = await call(() => client.hgetall(hashKey));
      for (const json of Object.values(raw)) {
        const stored = JSON.parse(json) as Grant & { visitor: Visitor };
        yield { ...decodeGrant(json), visitor: { userType: stored.visitor.userType, identifier: stored.visitor.identifier } };
      }
    }
  }
}
