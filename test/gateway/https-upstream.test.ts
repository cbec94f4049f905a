// An https upstream: the gateway verifies its certificate against the trusted CAs (Node's, plus
// NODE_EXTRA_CA_CERTS for a private CA) and sends the visitor's host name as SNI (none for an IP).
// The certificate is made for this run with the openssl CLI (Debian's openssl package).
import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway } from '../../src/gateway/listener.js';
import { loadRuntime, type Runtime } from '../../src/runtime.js';
import { TEST_ANONYMOUS_ID_KEY } from '../support/anonymous-ids.js';
import { recordingLogger, upstreamFromEnvConfig, writeConfig } from './harness.js';

const CONFIG = upstreamFromEnvConfig({ headerTimeoutMs: 2000, route: 'bypass: true' });

function selfSignedCertificate(dir: string): { keyFile: string; certFile: string } {
  const keyFile = join(dir, 'key.pem');
  const certFile = join(dir, 'cert.pem');
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        keyFile,
        '-out',
        certFile,
        '-days',
        '1',
        '-subj',
        '/CN=site.example',
        '-addext',
        'subjectAltName=DNS:site.example,IP:127.0.0.1',
      ],
      { stdio: 'pipe' },
    );
  } catch (error) {
    throw new Error(
      `this test makes a certificate with the openssl CLI, which failed (${(error as Error).message}); install it with: apt-get install -y openssl`,
    );
  }
  return { keyFile, certFile };
}

describe('an https upstream', () => {
  let dir: string;
  let upstream: Server;
  let upstreamUrl: string;
  const seen: { target: string; servername: string | false | null }[] = [];
  let child: ChildProcess | undefined;
  let childUrl: string;
  let certFile: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'plangate-tls-'));
    const files = selfSignedCertificate(dir);
    certFile = files.certFile;
    upstream = createServer({ key: readFileSync(files.keyFile), cert: readFileSync(files.certFile) }, (req, res) => {
      seen.push({ target: req.url ?? '', servername: (req.socket as TLSSocket).servername });
      res.writeHead(200, { 'content-type': 'text/plain' }).end('over tls');
    });
    await new Promise<void>((done) => upstream.listen(0, '127.0.0.1', done));
    upstreamUrl = `https://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
    // The private CA is trusted the standard Node way: NODE_EXTRA_CA_CERTS, read at process start.
    child = fork(resolve('test/gateway/fixtures/gateway-process.ts'), [writeConfig(CONFIG)], {
      execArgv: ['--import', 'tsx'],
      env: { ...process.env, PLANGATE_UPSTREAM: upstreamUrl, NODE_EXTRA_CA_CERTS: certFile },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    childUrl = await new Promise<string>((done) => child!.once('message', (message: { url: string }) => done(message.url)));
  }, 20_000);

  afterAll(async () => {
    if (child && child.exitCode === null) {
      child.send('stop');
      await new Promise((done) => child!.once('exit', done));
    }
    await new Promise((done) => upstream?.close(done));
    rmSync(dir, { recursive: true, force: true });
  });

  it('is reached over TLS with the certificate verified, SNI from the Host name and none for an IP', async () => {
    const byIp = await fetch(`${childUrl}/articles/one?x=1`);
    expect(byIp.status).toBe(200);
    expect(await byIp.text()).toBe('over tls');
    expect(seen.at(-1)).toEqual({ target: '/articles/one?x=1', servername: false }); // Host was 127.0.0.1:port: no SNI

    const { hostname, port } = new URL(childUrl);
    const byName = await new Promise<{ status: number; body: string }>((done, fail) => {
      // fetch cannot set Host: a raw request through node:http can.
      import('node:http').then(({ request }) =>
        request({ host: hostname, port, path: '/named', headers: { host: 'site.example' } }, (res) => {
          let body = '';
          res.setEncoding('utf8').on('data', (c: string) => (body += c));
          res.on('end', () => done({ status: res.statusCode ?? 0, body }));
        })
          .on('error', fail)
          .end(),
      );
    });
    expect(byName).toEqual({ status: 200, body: 'over tls' });
    expect(seen.at(-1)).toEqual({ target: '/named', servername: 'site.example' });
  });

  it('an untrusted certificate is a 502, never a silent plain or unverified connection', async () => {
    // This test process does not trust the run's certificate (no NODE_EXTRA_CA_CERTS here).
    const logger = recordingLogger();
    process.env.PLANGATE_UPSTREAM = upstreamUrl;
    let runtime: Runtime | undefined;
    try {
      runtime = await loadRuntime(writeConfig(CONFIG), { env: process.env, devAnonymousIdKey: TEST_ANONYMOUS_ID_KEY });
      const gateway = await startGateway({ model: runtime.model, engine: runtime.engine, logger, listen: { host: '127.0.0.1', port: 0 } });
      try {
        const before = seen.length;
        const res = await fetch(`${gateway.url}/untrusted`, { headers: { accept: 'application/json' } });
        expect(res.status).toBe(502);
        expect(await res.json()).toMatchObject({ statusCode: 502, code: 'upstream-unreachable' });
        expect(seen.length).toBe(before); // the upstream's handler never ran
        expect(logger.events.some((e) => e.code === 'upstream-unreachable')).toBe(true);
      } finally {
        await gateway.close();
      }
    } finally {
      delete process.env.PLANGATE_UPSTREAM;
      await runtime?.close();
    }
  });
});
