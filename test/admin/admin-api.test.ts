// The admin API through a real listener, on memory and on Redis: a grant turns a reader premium (and
// shows its source and expiry), revoking undoes it, meters are read, adjusted and reset, a visitor is
// forgotten, grants are exported and imported, and every change leaves one audit line. Attackers:
// no key, publishable and non-admin secret keys are refused; Idempotency-Key acts once.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, adminStack, auditLines, PLAIN_SECRET_KEY, PUBLISHABLE_KEY, type AdminStack, type StoreKind } from './harness.js';

const ARTICLES = 'default:feat_articles.enabled';

describe.each<StoreKind>(['memory', 'redis'])('the admin API on %s', (kind) => {
  let stack: AdminStack;
  beforeAll(async () => {
    stack = await adminStack(kind, 'admin-api');
  });
  afterAll(() => stack?.close());

  const decide = async (identity: Record<string, unknown>, surfaceSlug = 'premium') =>
    (await stack.call('POST', '/api/v1/surface-decisions', PLAIN_SECRET_KEY, { surfaceSlug, identity })).body;

  it('a grant turns a reader premium, with its source and expiry in `plans`; revoking takes it back', async () => {
    const user = `reader-${randomUUID()}@example.com`;
    const before = await decide({ userIdentifier: user });
    expect(before.features.premium.properties.enabled.hasAccess).toBe(false);
    expect(before.customer).toEqual({ isCustomer: false, hasProducts: false, customerIdentifiers: [] });
    expect(before.plans).toEqual([{ plan: 'registered', source: 'automatic' }]);

    const expiresAt = new Date(Date.now() + 30 * 86_400_000).toISOString();
    const granted = await stack.call('POST', '/api/v1/admin/grants', ADMIN_KEY, { identity: { userIdentifier: user }, plan: 'premium', expiresAt, note: 'order 42' });
    expect(granted.status).toBe(200);
    expect(granted.body.grant).toMatchObject({ plan: 'premium', expiresAt, by: 'billing', note: 'order 42', active: true });

    const after = await decide({ userIdentifier: user });
    expect(after.features.premium.properties.enabled.hasAccess).toBe(true);
    expect(after.features.articles.properties.enabled).toMatchObject({ hasAccess: true });
    expect(after.customer).toEqual({ isCustomer: true, hasProducts: true, customerIdentifiers: [] });
    expect(after.plans).toEqual([
      { plan: 'registered', source: 'automatic' },
      { plan: 'premium', source: 'grant', expiresAt },
    ]);

    const listed = await stack.call('GET', `/api/v1/admin/grants/list?userIdentifier=${encodeURIComponent(user)}`, ADMIN_KEY);
    expect(listed.body.grants).toEqual([expect.objectContaining({ plan: 'premium', expiresAt, active: true })]);

    const revoked = await stack.call('POST', '/api/v1/admin/grants/revoke', ADMIN_KEY, { identity: { userIdentifier: user }, plan: 'premium' });
    expect(revoked.body).toEqual({ status: 'success', revoked: true });
    const again = await decide({ userIdentifier: user });
    expect(again.features.premium.properties.enabled.hasAccess).toBe(false);
    expect(again.customer.hasProducts).toBe(false);
    const revokedTwice = await stack.call('POST', '/api/v1/admin/grants/revoke', ADMIN_KEY, { identity: { userIdentifier: user }, plan: 'premium' });
    expect(revokedTwice.body.revoked).toBe(false);

    const audit = auditLines(stack.lines).filter((line) => line.identifier === user);
    expect(audit.map((line) => [line.who, line.action, line.plan])).toEqual([
      ['billing', 'grant', 'premium'],
      ['billing', 'revoke', 'premium'],
    ]);
    for (const line of audit) expect(Date.parse(line.at as string)).toBeGreaterThan(Date.now() - 60_000);
  });

  it('grants stack with provisioned plans and reach anonymous visitors; unknown plans and past expiries are refused', async () => {
    const anonymous = `anon-${randomUUID()}`;
    await stack.call('POST', '/api/v1/admin/grants', ADMIN_KEY, { identity: { anonymousIdentifier: anonymous }, plan: 'gift' }).then((r) => expect(r.status).toBe(200));
    const decision = await decide({ anonymousIdentifier: anonymous }, 'article');
    // The gift plan (20 a month) outranks the anonymous 3 a month under `highest`.
    expect(decision.features.articles.properties.enabled).toMatchObject({ totalUnits: 20 });
    expect(decision.plans).toEqual([
      { plan: 'anonymous', source: 'automatic' },
      { plan: 'gift', source: 'grant' },
    ]);
    const token = await stack.keys.sign({ email: `rule-${randomUUID()}@example.com`, premium: true });
    const email = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()).email as string;
    await stack.call('POST', '/api/v1/admin/grants', ADMIN_KEY, { identity: { userIdentifier: email }, plan: 'premium' });
    const both = await decide({ userJwt: token });
    expect(both.plans).toEqual([
      { plan: 'registered', source: 'automatic' },
      { plan: 'premium', source: 'rule' },
      { plan: 'premium', source: 'grant' },
    ]);

    const unknown = await stack.call('POST', '/api/v1/admin/grants', ADMIN_KEY, { identity: { userIdentifier: 'x' }, plan: 'platinum' });
    expect([unknown.status, unknown.body.code]).toEqual([404, 'unknown-plan']);
    const past = await stack.call('POST', '/api/v1/admin/grants', ADMIN_KEY, { identity: { userIdentifier: 'x' }, plan: 'premium', expiresAt: '2001-01-01' });
    expect([past.status, past.body.code]).toEqual([400, 'invalid-request']);
    const garbage = await stack.call('POST', '/api/v1/admin/grants', ADMIN_KEY, { identity: { userIdentifier: 'x' }, plan: 'premium', expiresAt: 'soon' });
    expect([garbage.status, garbage.body.code]).toEqual([400, 'invalid-request']);
    expect(garbage.body.message).toContain('expiresAt');
  });

  it('reads, adjusts and resets a meter; forgetting a visitor removes every key', async () => {
    const user = `meters-${randomUUID()}`;
    for (const article of ['a', 'b']) {
      await stack.call('POST', '/api/v1/surface-decisions', PLAIN_SECRET_KEY, { surfaceSlug: 'article', identity: { userIdentifier: user }, resource: { id: article } });
    }
    // The surface declares no consumption: count two reads through counter-updates, as an app would.
    await stack.call('POST', '/api/v1/counter-updates', PLAIN_SECRET_KEY, { identity: { userIdentifier: user }, counterId: ARTICLES, update: 2 });
    const read = await stack.call('GET', `/api/v1/admin/meters?userIdentifier=${user}`, ADMIN_KEY);
    expect(read.status).toBe(200);
    expect(read.body.meters.find((m: { counterId: string }) => m.counterId === ARTICLES).periods).toEqual([
      expect.objectContaining({ period: 'month', usage: 2 }),
    ]);
    const adjusted = await stack.call('POST', '/api/v1/admin/meters/adjust', ADMIN_KEY, { identity: { userIdentifier: user }, counterId: ARTICLES, units: -1 });
    expect(adjusted.body.meter.periods[0].usage).toBe(1);
    const reset = await stack.call('POST', '/api/v1/admin/meters/reset', ADMIN_KEY, { identity: { userIdentifier: user }, counterId: ARTICLES });
    expect(reset.body.meter.periods[0].usage).toBe(0);
    const badUnits = await stack.call('POST', '/api/v1/admin/meters/adjust', ADMIN_KEY, { identity: { userIdentifier: user }, counterId: ARTICLES, units: 0 });
    expect([badUnits.status, badUnits.body.code]).toEqual([400, 'invalid-request']);
    const badCounter = await stack.call('POST', '/api/v1/admin/meters/reset', ADMIN_KEY, { identity: { userIdentifier: user }, counterId: 'nope' });
    expect([badCounter.status, badCounter.body.code]).toEqual([404, 'unknown-counter']);

    await stack.call('POST', '/api/v1/counter-updates', PLAIN_SECRET_KEY, { identity: { userIdentifier: user }, counterId: ARTICLES, update: 3 });
    await stack.call('POST', '/api/v1/admin/grants', ADMIN_KEY, { identity: { userIdentifier: user }, plan: 'premium' });
    const forgotten = await stack.call('POST', '/api/v1/admin/forget', ADMIN_KEY, { identity: { userIdentifier: user } });
    expect(forgotten.status).toBe(200);
    expect(forgotten.body.keysDeleted).toBeGreaterThanOrEqual(2);
    const after = await stack.call('GET', `/api/v1/admin/meters?userIdentifier=${user}`, ADMIN_KEY);
    expect(after.body.meters.every((m: { periods: { usage: number }[] }) => m.periods.every((p) => p.usage === 0))).toBe(true);
    expect((await stack.call('GET', `/api/v1/admin/grants/list?userIdentifier=${user}`, ADMIN_KEY)).body.grants).toEqual([]);
    const decision = await decide({ userIdentifier: user });
    expect(decision.features.premium.properties.enabled.hasAccess).toBe(false);
    expect(auditLines(stack.lines).filter((l) => l.identifier === user).map((l) => l.action)).toEqual(['adjust-meter', 'reset-meter', 'grant', 'forget']);
  });

  it('exports grants as JSON lines that import into another store', async () => {
    const user = `export-${randomUUID()}`;
    const expiresAt = new Date(Date.now() + 86_400_000).toISOString();
    await stack.call('POST', '/api/v1/admin/grants', ADMIN_KEY, { identity: { userIdentifier: user }, plan: 'gift', expiresAt });
    const exported = await stack.call('GET', '/api/v1/admin/grants/export', ADMIN_KEY);
    expect(exported.status).toBe(200);
    expect(exported.headers.get('content-type')).toContain('application/x-ndjson');
    const lines = (exported.body as string)
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    const mine = lines.filter((line) => line.identifier === user);
    expect(mine).toEqual([{ userType: 'authenticated', identifier: user, plan: 'gift', expiresAt, grantedAt: expect.any(String), by: 'billing' }]);

    const other = await adminStack(kind, `admin-import-${randomUUID()}`);
    try {
      const imported = await other.call('POST', '/api/v1/admin/grants/import', ADMIN_KEY, { grants: mine });
      expect(imported.body).toEqual({ status: 'success', imported: 1 });
      const listed = await other.call('GET', `/api/v1/admin/grants/list?userIdentifier=${user}`, ADMIN_KEY);
      expect(listed.body.grants).toEqual([expect.objectContaining({ plan: 'gift', expiresAt, by: 'billing', active: true })]);
      const bad = await other.call('POST', '/api/v1/admin/grants/import', ADMIN_KEY, { grants: [...mine, { userType: 'robot', identifier: 'x', plan: 'gift' }] });
      expect([bad.status, bad.body.code]).toEqual([400, 'invalid-request']);
      expect(bad.body.message).toContain('line 2');
    } finally {
      await other.close();
    }
  });

  describe('as an attacker', () => {
    const attempts: [string, string, unknown][] = [
      ['POST', '/api/v1/admin/grants', { identity: { userIdentifier: 'mallory' }, plan: 'premium' }],
      ['POST', '/api/v1/admin/grants/revoke', { identity: { userIdentifier: 'mallory' }, plan: 'premium' }],
      ['POST', '/api/v1/admin/grants/import', { grants: [{ userType: 'authenticated', identifier: 'mallory', plan: 'premium' }] }],
      ['GET', '/api/v1/admin/grants/list?userIdentifier=mallory', undefined],
      ['GET', '/api/v1/admin/grants/export', undefined],
      ['GET', '/api/v1/admin/meters?userIdentifier=mallory', undefined],
      ['POST', '/api/v1/admin/meters/reset', { identity: { userIdentifier: 'mallory' }, counterId: ARTICLES }],
      ['POST', '/api/v1/admin/meters/adjust', { identity: { userIdentifier: 'mallory' }, counterId: ARTICLES, units: -5 }],
      ['POST', '/api/v1/admin/forget', { identity: { userIdentifier: 'mallory' } }],
    ];

    it.each(attempts)('%s %s: refused without a key, with a publishable key, with a non-admin secret key, with a forged key', async (method, path, body) => {
      expect((await stack.call(method, path, undefined, body)).body.code).toBe('missing-api-key');
      expect((await stack.call(method, path, 'sk_admin_billing_kez', body)).body.code).toBe('unknown-api-key');
      for (const key of [PUBLISHABLE_KEY, PLAIN_SECRET_KEY]) {
        const res = await stack.call(method, path, key, body);
        expect([res.status, res.body.code]).toEqual([403, 'admin-scope-required']);
      }
      // Lower-case bearer, odd spacing: the same refusal, never a way around it.
      const sneaky = await stack.call(method, path, undefined, body, { authorization: `bearer   ${PLAIN_SECRET_KEY}` });
      expect(sneaky.status).toBe(403);
      expect((await stack.call('POST', '/api/v1/surface-decisions', PLAIN_SECRET_KEY, { surfaceSlug: 'premium', identity: { userIdentifier: 'mallory' } })).body.features.premium.properties.enabled.hasAccess).toBe(false);
      expect(auditLines(stack.lines).filter((l) => l.identifier === 'mallory')).toEqual([]);
    });

    it('other methods on admin paths are 405 with Allow, after the key check', async () => {
      const res = await stack.call('DELETE', '/api/v1/admin/grants', ADMIN_KEY);
      expect([res.status, res.body.code, res.headers.get('allow')]).toEqual([405, 'method-not-allowed', 'POST, OPTIONS']);
      expect((await stack.call('DELETE', '/api/v1/admin/grants', PUBLISHABLE_KEY)).status).toBe(403);
    });
  });

  describe('Idempotency-Key', () => {
    it('400 concurrent identical requests with one key act once and all get the same answer', async () => {
      const user = `idem-${randomUUID()}`;
      const key = randomUUID();
      const body = { identity: { userIdentifier: user }, counterId: ARTICLES, units: 1 };
      const replies = await Promise.all(
        Array.from({ length: 400 }, () => stack.call('POST', '/api/v1/admin/meters/adjust', ADMIN_KEY, body, { 'idempotency-key': key })),
      );
      expect(replies.map((r) => r.status)).toEqual(Array(400).fill(200));
      expect(new Set(replies.map((r) => JSON.stringify(r.body))).size).toBe(1);
      expect(replies.filter((r) => r.headers.get('idempotent-replayed') === 'true')).toHaveLength(399);
      const meters = await stack.call('GET', `/api/v1/admin/meters?userIdentifier=${user}`, ADMIN_KEY);
      expect(meters.body.meters.find((m: { counterId: string }) => m.counterId === ARTICLES).periods[0].usage).toBe(1);
      expect(auditLines(stack.lines).filter((l) => l.identifier === user)).toHaveLength(1);

      // Another key acts again; the same key with another body is refused; without a key every request acts.
      await stack.call('POST', '/api/v1/admin/meters/adjust', ADMIN_KEY, body, { 'idempotency-key': randomUUID() });
      const reused = await stack.call('POST', '/api/v1/admin/meters/adjust', ADMIN_KEY, { ...body, units: 5 }, { 'idempotency-key': key });
      expect([reused.status, reused.body.code]).toEqual([422, 'idempotency-key-reused']);
      await stack.call('POST', '/api/v1/admin/meters/adjust', ADMIN_KEY, body);
      const after = await stack.call('GET', `/api/v1/admin/meters?userIdentifier=${user}`, ADMIN_KEY);
      expect(after.body.meters.find((m: { counterId: string }) => m.counterId === ARTICLES).periods[0].usage).toBe(3);
    }, 60_000);

    it('a failed action frees its key: the retry acts', async () => {
      const key = randomUUID();
      const user = `idem-fail-${randomUUID()}`;
      const failed = await stack.call('POST', '/api/v1/admin/grants', ADMIN_KEY, { identity: { userIdentifier: user }, plan: 'premium', expiresAt: '1999-01-01' }, { 'idempotency-key': key });
      expect(failed.status).toBe(400);
      // Not a replay of the stored failure: the key was released and the request judged again.
      const retried = await stack.call('POST', '/api/v1/admin/grants', ADMIN_KEY, { identity: { userIdentifier: user }, plan: 'premium' }, { 'idempotency-key': key });
      expect(retried.status).toBe(200);
      expect(retried.headers.get('idempotent-replayed')).toBeNull();
      const bad = await stack.call('POST', '/api/v1/admin/forget', ADMIN_KEY, { identity: { userIdentifier: user } }, { 'idempotency-key': 'has space' });
      expect([bad.status, bad.body.code]).toEqual([400, 'invalid-request']);
    });
  });
});
