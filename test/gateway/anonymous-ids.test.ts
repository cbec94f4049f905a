// Anonymous ids through the real listener, Redis and upstream, tried the way a reader would forge
// them: bare UUIDs (what earlier versions set), made-up MACs, a valid cookie with one character
// changed, a cookie signed with a key rotated out, a victim's network id computed the old way, many
// fresh forged cookies in cookie+ip mode, and a burst of 400 at once. Each test reads the bytes the
// client receives (Set-Cookie) and what the upstream saw (x-plangate-id).
import { createHash, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AnonymousIds, type AnonymousIdKey } from '../../src/engine/identity/anonymous-ids.js';
import type { Runtime } from '../../src/runtime.js';
import { anonymousReadsYaml } from '../support/anonymous-ids.js';
import { loadTestRuntime, rawRequest, startStack, writeConfig, type Stack } from './harness.js';

const K1: AnonymousIdKey = { id: 'k1', secret: 'first-anonymous-id-secret-0123456789abcdef' };
const K2: AnonymousIdKey = { id: 'k2', secret: 'second-anonymous-id-secret-0123456789abcde' };
const ROGUE: AnonymousIdKey = { id: 'k1', secret: 'a-secret-nobody-configured-0123456789abcdef' };

function config(metering: 'cookie' | 'cookie+ip', keys: readonly AnonymousIdKey[]): string {
  return writeConfig(`version: 1
${anonymousReadsYaml(keys, true)}surfaces:
  article: {}
  site: {}
store:
  redis:
    url: \${REDIS_URL}
gateway:
  upstream: \${PLANGATE_UPSTREAM}
  trustProxy: true
  anonymousMetering: ${metering}
  routes:
    - path: /articles/**
      surface: article
      consume: [articles.enabled]
    - path: /**
      surface: site
`);
}

interface Read {
  status: number;
  /** The `plangate_anon` value of the Set-Cookie the client received, if any. */
  setCookie?: string;
  /** The raw Set-Cookie line (attributes included). */
  setCookieLine?: string;
  /** The x-plangate-id the upstream received, when the request reached it. */
  upstreamId?: string;
}

/** One request over a raw socket; what the client got and what the upstream saw. */
async function read(stack: Stack, path: string, options: { cookie?: string; from?: string } = {}): Promise<Read> {
  const lines = ['Accept: application/json'];
  if (options.cookie !== undefined) lines.push(`Cookie: plangate_anon=${options.cookie}`);
  if (options.from !== undefined) lines.push(`X-Forwarded-For: ${options.from}`);
  const before = stack.upstream.seen.length;
  const res = await rawRequest(stack.gateway.url, path, lines);
  const line = res.head.split('\r\n').find((l) => /^set-cookie: plangate_anon=/i.test(l));
  const seen = stack.upstream.seen.slice(before).find((s) => s.target === path);
  return {
    status: res.status,
    setCookieLine: line?.slice('set-cookie: '.length),
    setCookie: line === undefined ? undefined : /plangate_anon=([^;]*)/.exec(line)![1],
    upstreamId: seen?.headers['x-plangate-id'] as string | undefined,
  };
}

const article = () => `/articles/a-${randomUUID()}`;
const ids = (...keys: AnonymousIdKey[]) => new AnonymousIds(keys);
/** What the previous version minted for a cookie-less visitor under cookie+ip: anyone could compute it. */
function oldNetworkId(address: string): string {
  const h = createHash('sha256').update(`plangate-network:${address}`).digest('hex').slice(0, 32).split('');
  h[12] = '8';
  h[16] = ((parseInt(h[16], 16) & 0x3) | 0x8).toString(16);
  const s = h.join('');
  return `${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20, 32)}`;
}

describe('cookie mode', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack(config('cookie', [K1]), 'anon-cookie');
  });
  afterAll(() => stack?.close());

  it('a first visit gets a signed cookie; the upstream sees only the id; the cookie is kept on later visits', async () => {
    const first = await read(stack, article());
    expect(first.status).toBe(200);
    expect(first.setCookieLine).toMatch(/^plangate_anon=[0-9a-f-]{36}\.[\w-]{43}; Max-Age=34560000; Path=\/; HttpOnly; SameSite=Lax$/);
    const id = first.setCookie!.slice(0, 36);
    expect(ids(K1).verify(first.setCookie)).toEqual({ id, stale: false });
    expect(first.upstreamId).toBe(id);

    const again = await read(stack, article(), { cookie: first.setCookie });
    expect(again).toMatchObject({ status: 200, setCookie: undefined, upstreamId: id });
  });

  it('a forged, altered or foreign cookie counts as no cookie: a new signed id, never the presented one', async () => {
    const valid = ids(K1).sign(randomUUID());
    const victim = valid.slice(0, 36);
    const forged = {
      'a bare UUID (a cookie of the previous version)': victim,
      'a made-up MAC': `${victim}.${'A'.repeat(43)}`,
      'one character of the id changed': `${victim.slice(0, 35)}${victim[35] === '0' ? '1' : '0'}${valid.slice(36)}`,
      'one character of the MAC changed': `${valid.slice(0, 50)}${valid[50] === 'x' ? 'y' : 'x'}${valid.slice(51)}`,
      'signed with a key that is not configured': ids(ROGUE).sign(victim),
      uppercase: valid.toUpperCase(),
      'not a UUID at all': '../../etc/passwd',
    };
    for (const [what, cookie] of Object.entries(forged)) {
      const res = await read(stack, article(), { cookie });
      expect(res.status, what).toBe(200);
      expect(res.setCookie, what).toBeDefined();
      const minted = ids(K1).verify(res.setCookie);
      expect(minted, what).toBeDefined();
      expect(minted!.id, what).not.toBe(victim);
      expect(res.upstreamId, what).toBe(minted!.id);
    }
  });

  it('cookies minted by the previous version (bare UUIDs) start a new meter: their counters are not reachable', async () => {
    // Three reads under a bare UUID cookie: each is a first visit under a new signed id.
    const legacy = randomUUID();
    const reads = [await read(stack, article(), { cookie: legacy }), await read(stack, article(), { cookie: legacy })];
    expect(reads.map((r) => r.status)).toEqual([200, 200]);
    expect(new Set(reads.map((r) => r.upstreamId)).size).toBe(2);
    expect(reads.every((r) => r.upstreamId !== legacy)).toBe(true);
    // Keeping the new cookie, the visitor has their 3 reads from there on.
    const cookie = reads[1].setCookie;
    expect((await read(stack, article(), { cookie })).status).toBe(200);
    expect((await read(stack, article(), { cookie })).status).toBe(200);
    expect((await read(stack, article(), { cookie })).status).toBe(402);
  });
});

describe('key rotation through reloads', () => {
  let stack: Stack;
  const runtimes: Runtime[] = [];
  const swapTo = async (keys: AnonymousIdKey[]) => {
    const next = await loadTestRuntime(config('cookie', keys), 'anon-rotation', { PLANGATE_UPSTREAM: stack.upstream.url });
    runtimes.push(next);
    stack.gateway.swap({ model: next.model, engine: next.engine });
  };
  beforeAll(async () => {
    stack = await startStack(config('cookie', [K1]), 'anon-rotation');
  });
  afterAll(async () => {
    await stack?.close();
    for (const runtime of runtimes) await runtime.close();
  });

  it('k1 → [k2, k1] → [k2]: old cookies are accepted and re-issued, counters carry over, a rotated-out key is refused', async () => {
    const first = await read(stack, article());
    const id = first.setCookie!.slice(0, 36);
    const underK1 = first.setCookie!;
    expect((await read(stack, article(), { cookie: underK1 })).status).toBe(200); // 2 of 3 used

    await swapTo([K2, K1]);
    const rotated = await read(stack, article(), { cookie: underK1 });
    expect(rotated.status).toBe(200); // 3 of 3: the same meter
    expect(rotated.upstreamId).toBe(id);
    expect(rotated.setCookie).toBe(ids(K2).sign(id)); // re-issued under the new current key
    expect(rotated.setCookieLine).toMatch(/; HttpOnly; SameSite=Lax$/);
    const underK2 = rotated.setCookie!;
    expect((await read(stack, article(), { cookie: underK2 })).status).toBe(402); // the meter is spent

    await swapTo([K2]);
    expect((await read(stack, article(), { cookie: underK2 })).status).toBe(402); // still that visitor
    const stale = await read(stack, article(), { cookie: underK1 }); // a client that never took the new cookie
    expect(stale.status).toBe(200);
    expect(stale.upstreamId).not.toBe(id);
    expect(ids(K2).verify(stale.setCookie)?.id).toBe(stale.upstreamId);
  });
});

describe('cookie+ip mode', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack(config('cookie+ip', [K1]), 'anon-cookie-ip');
  });
  afterAll(() => stack?.close());

  it('fresh forged cookies on every request do not buy a fresh meter: exactly 3 of 8', async () => {
    const from = '198.51.100.21';
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) {
      const cookie = i % 2 === 0 ? randomUUID() : `${randomUUID()}.${'B'.repeat(43)}`;
      statuses.push((await read(stack, article(), { cookie, from })).status);
    }
    expect(statuses).toEqual([200, 200, 200, 402, 402, 402, 402, 402]);
  });

  it('a burst of 400 concurrent requests with forged cookies grants exactly 3', async () => {
    const from = '198.51.100.22';
    const before = stack.upstream.seen.length;
    const results = await Promise.all(
      Array.from({ length: 400 }, (_, i) => read(stack, `/articles/burst-${i}`, { cookie: i % 3 === 0 ? randomUUID() : ids(ROGUE).sign(randomUUID()), from })),
    );
    expect(results.filter((r) => r.status === 200)).toHaveLength(3);
    expect(results.filter((r) => r.status === 402)).toHaveLength(397);
    const reached = stack.upstream.seen.slice(before).filter((s) => s.target.startsWith('/articles/burst-'));
    expect(reached).toHaveLength(3);
    // All three under the one id of that network, which the gateway keyed with its secret.
    expect(new Set(reached.map((s) => s.headers['x-plangate-id'])).size).toBe(1);
    expect(reached[0].headers['x-plangate-id']).toBe(ids(K1).forNetwork('198.51.100.22'));
  });

  it("a victim's network id computed the old way reaches neither the victim's meter nor their id upstream", async () => {
    const victim = '198.51.100.23';
    const attacker = '203.0.113.99';
    const own = [await read(stack, article(), { from: victim }), await read(stack, article(), { from: victim })];
    expect(own.map((r) => r.status)).toEqual([200, 200]); // the victim has 1 read left
    const victimId = own[0].upstreamId!;
    expect(victimId).not.toBe(oldNetworkId(victim)); // the id is keyed: the old computation misses it
    expect(own[0].setCookie).toBe(ids(K1).sign(victimId));

    for (const cookie of [oldNetworkId(victim), victimId, `${victimId}.${'C'.repeat(43)}`]) {
      const res = await read(stack, article(), { cookie, from: attacker });
      expect(res.upstreamId).not.toBe(victimId);
      expect(res.upstreamId).toBe(ids(K1).forNetwork(attacker));
    }
    expect((await read(stack, article(), { from: victim })).status).toBe(200); // the victim's last read is still there
    expect((await read(stack, article(), { from: victim })).status).toBe(402);
  });
});
