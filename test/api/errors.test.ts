// Every API error has the documented status and the shape { status: "error", statusCode, code, message }.
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { helloWorld, PUBLISHABLE_KEY, SECRET_KEY, type HelloWorld } from '../support/hello-world.js';

let hw: HelloWorld;
beforeAll(async () => {
  hw = await helloWorld();
});
afterAll(async () => {
  await hw.runtime.close();
});

const SD = '/api/v1/surface-decisions';

function expectError(res: request.Response, status: number, message: RegExp, code: string) {
  expect(res.status).toBe(status);
  expect(res.headers['content-type']).toMatch(/json/);
  expect(res.body).toEqual({ status: 'error', statusCode: status, code, message: expect.stringMatching(message) });
  expect(res.text).not.toMatch(/at .*\.(ts|js):\d+/); // no stack trace
}

describe('decision API errors', () => {
  const cases: [string, () => request.Test, number, RegExp, string][] = [
    [
      'invalid JSON',
      () => request(hw.app).post(SD).set('Authorization', `Bearer ${SECRET_KEY}`).set('Content-Type', 'application/json').send('{"surfaceSlug":'),
      400,
      /not valid JSON/,
      'invalid-json',
    ],
    [
      'a body that is not an object',
      () => request(hw.app).post(SD).set('Authorization', `Bearer ${SECRET_KEY}`).set('Content-Type', 'application/json').send('[1,2]'),
      400,
      /JSON object/,
      'invalid-request',
    ],
    [
      'a field of the wrong type (named)',
      () =>
        request(hw.app)
          .post(SD)
          .set('Authorization', `Bearer ${SECRET_KEY}`)
          .send({ surfaceSlug: 'hello-world', identity: { userJwt: 42 } }),
      400,
      /identity\.userJwt/,
      'invalid-request',
    ],
    [
      'an unknown identity field (named)',
      () =>
        request(hw.app)
          .post(SD)
          .set('Authorization', `Bearer ${SECRET_KEY}`)
          .send({ surfaceSlug: 'hello-world', identity: { email: 'x' } }),
      400,
      /identity\.email/,
      'invalid-request',
    ],
    [
      'missing surfaceSlug',
      () =>
        request(hw.app)
          .post(SD)
          .set('Authorization', `Bearer ${SECRET_KEY}`)
          .send({ identity: { createAnonymousIdentifier: true } }),
      400,
      /surfaceSlug is required/,
      'invalid-request',
    ],
    [
      'unknown surfaceSlug',
      () =>
        request(hw.app)
          .post(SD)
          .set('Authorization', `Bearer ${SECRET_KEY}`)
          .send({ surfaceSlug: 'nope', identity: { createAnonymousIdentifier: true } }),
      404,
      /unknown surface 'nope'/,
      'unknown-surface',
    ],
    [
      'missing key',
      () =>
        request(hw.app)
          .post(SD)
          .send({ surfaceSlug: 'hello-world', identity: { createAnonymousIdentifier: true } }),
      401,
      /missing API key/,
      'missing-api-key',
    ],
    [
      'unknown key',
      () =>
        request(hw.app)
          .post(SD)
          .set('Authorization', 'Bearer sk_not_a_real_key')
          .send({ surfaceSlug: 'hello-world', identity: { createAnonymousIdentifier: true } }),
      401,
      /unknown API key/,
      'unknown-api-key',
    ],
    [
      'two identity modes',
      () =>
        request(hw.app)
          .post(SD)
          .set('Authorization', `Bearer ${SECRET_KEY}`)
          .send({ surfaceSlug: 'hello-world', identity: { createAnonymousIdentifier: true, userIdentifier: 'a' } }),
      400,
      /exactly one/,
      'identity-conflict',
    ],
    [
      'pk_ with userIdentifier',
      () =>
        request(hw.app)
          .post(SD)
          .set('Authorization', `Bearer ${PUBLISHABLE_KEY}`)
          .send({ surfaceSlug: 'hello-world', identity: { userIdentifier: 'test@example.com' } }),
      403,
      /secret/,
      'identity-forbidden',
    ],
    [
      'pk_ asserting http context',
      () =>
        request(hw.app)
          .post(SD)
          .set('Authorization', `Bearer ${PUBLISHABLE_KEY}`)
          .send({ surfaceSlug: 'hello-world', identity: { createAnonymousIdentifier: true }, http: { url: 'https://x/' } }),
      403,
      /http/,
      'forbidden',
    ],
    [
      'an invalid JWT without fallback',
      () =>
        request(hw.app)
          .post(SD)
          .set('Authorization', `Bearer ${SECRET_KEY}`)
          .send({ surfaceSlug: 'hello-world', identity: { userJwt: 'not.a.jwt' } }),
      401,
      /^invalid token$/,
      'invalid-token',
    ],
    [
      'pk_ on counter-updates',
      () =>
        request(hw.app)
          .post('/api/v1/counter-updates')
          .set('Authorization', `Bearer ${PUBLISHABLE_KEY}`)
          .send({ identity: { anonymousIdentifier: 'a' }, counterId: 'default:feat_widget.enabled' }),
      403,
      /secret/,
      'forbidden',
    ],
    [
      'unknown counterId',
      () =>
        request(hw.app)
          .post('/api/v1/counter-updates')
          .set('Authorization', `Bearer ${SECRET_KEY}`)
          .send({ identity: { anonymousIdentifier: 'a' }, counterId: 'default:nope.enabled' }),
      404,
      /unknown counterId/,
      'unknown-counter',
    ],
    [
      'update of 0',
      () =>
        request(hw.app)
          .post('/api/v1/counter-updates')
          .set('Authorization', `Bearer ${SECRET_KEY}`)
          .send({ identity: { anonymousIdentifier: 'a' }, counterId: 'default:feat_widget.enabled', update: 0 }),
      400,
      /update/,
      'invalid-request',
    ],
    [
      'unknown path',
      () => request(hw.app).post('/api/v1/nothing-here').set('Authorization', `Bearer ${SECRET_KEY}`).send({}),
      404,
      /no such endpoint/,
      'not-found',
    ],
    ['wrong method', () => request(hw.app).get(SD).set('Authorization', `Bearer ${SECRET_KEY}`), 405, /use POST/, 'method-not-allowed'],
    [
      'oversized body',
      () =>
        request(hw.app)
          .post(SD)
          .set('Authorization', `Bearer ${SECRET_KEY}`)
          .set('Content-Type', 'application/json')
          .send(JSON.stringify({ surfaceSlug: 'hello-world', identity: { anonymousIdentifier: 'a' }, resource: { meta: { pad: 'x'.repeat(200_000) } } })),
      413,
      /larger than/,
      'body-too-large',
    ],
  ];
  it.each(cases)('%s', async (_name, send, status, message, code) => {
    expectError(await send(), status, message, code);
  });

  it('an invalid JWT with createAnonymousIdentifierFallback degrades to a minted anonymous identity', async () => {
    const res = await request(hw.app)
      .post(SD)
      .set('Authorization', `Bearer ${SECRET_KEY}`)
      .send({ surfaceSlug: 'hello-world', identity: { userJwt: 'not.a.jwt', createAnonymousIdentifierFallback: true } })
      .expect(200);
    expect(res.body.identity).toEqual({ authType: 'anonymous', identifier: expect.stringMatching(/^[0-9a-f-]{36}$/), isAuthenticated: false, jwtClaims: {} });
  });

  it('wrong method answers with Allow', async () => {
    const res = await request(hw.app).put(SD).set('Authorization', `Bearer ${SECRET_KEY}`).send({});
    expect(res.status).toBe(405);
    expect(res.headers.allow).toBe('POST, OPTIONS');
  });
});

describe('counter-updates', () => {
  it('adds and subtracts, never below 0', async () => {
    const identity = { userIdentifier: `counter-${Date.now()}@example.com` };
    const update = (n: number) =>
      request(hw.app)
        .post('/api/v1/counter-updates')
        .set('Authorization', `Bearer ${SECRET_KEY}`)
        .send({ identity, counterId: 'default:feat_widget.enabled', update: n })
        .expect(200, { status: 'success' });
    const check = async () =>
      (await request(hw.app).post('/api/v1/access-checks').set('Authorization', `Bearer ${SECRET_KEY}`).send({ identity }).expect(200)).body.features.widget
        .properties.enabled;
    await update(2);
    expect(await check()).toMatchObject({ consumedUnits: 2, remainingUnits: 1, hasAccess: true });
    await update(-5);
    expect(await check()).toMatchObject({ consumedUnits: 0, remainingUnits: 3, hasAccess: true });
  });

  it('access-checks answer identity, customer and features without surface logic or consumption', async () => {
    const identity = { userIdentifier: `check-${Date.now()}@example.com` };
    const res = await request(hw.app).post('/api/v1/access-checks').set('Authorization', `Bearer ${SECRET_KEY}`).send({ identity }).expect(200);
    expect(Object.keys(res.body).sort()).toEqual(['customer', 'eventId', 'features', 'identity', 'status']);
    const again = await request(hw.app).post('/api/v1/access-checks').set('Authorization', `Bearer ${SECRET_KEY}`).send({ identity }).expect(200);
    expect(again.body.features.widget.properties.enabled).toMatchObject({ consumedUnits: 0, remainingUnits: 3 });
  });
});

describe('CORS', () => {
  it('answers a preflight from an allowed origin', async () => {
    const res = await request(hw.app)
      .options(SD)
      .set('Origin', 'http://localhost:3000')
      .set('Access-Control-Request-Method', 'POST')
      .set('Access-Control-Request-Headers', 'authorization, content-type, x-mos-proxy-version');
    expect(res.status).toBe(204);
    expect(res.headers['access-control-allow-origin']).toBe('http://localhost:3000');
    expect(res.headers['access-control-allow-headers']).toMatch(/Authorization/);
    expect(res.headers['access-control-allow-headers']).toMatch(/X-MOS-Proxy-Version/);
    expect(res.headers['access-control-allow-credentials']).toBeUndefined();
    expect(res.headers.vary).toMatch(/Origin/);
  });
  it('refuses a preflight from another origin', async () => {
    const res = await request(hw.app).options(SD).set('Origin', 'https://evil.example').set('Access-Control-Request-Method', 'POST');
    expectError(res, 403, /not allowed/, 'origin-not-allowed');
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
  });
  it('adds the origin header to an actual request from an allowed origin only', async () => {
    const body = { surfaceSlug: 'hello-world', identity: { createAnonymousIdentifier: true } };
    const ok = await request(hw.app).post(SD).set('Origin', 'http://localhost:3000').set('Authorization', `Bearer ${PUBLISHABLE_KEY}`).send(body).expect(200);
    expect(ok.headers['access-control-allow-origin']).toBe('http://localhost:3000');
    const other = await request(hw.app).post(SD).set('Origin', 'https://evil.example').set('Authorization', `Bearer ${PUBLISHABLE_KEY}`).send(body);
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
  });
});
