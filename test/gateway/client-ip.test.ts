import { createServer, request, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { cameOverHttps, clientAddress, compileTrust, meteringNetwork } from '../../src/gateway/client-ip.js';

/** One real request through node:http, so proxy-addr sees a real socket. */
async function withRequest<T>(headers: Record<string, string>, fn: (req: IncomingMessage) => T): Promise<T> {
  let result!: T;
  const server = createServer((req, res) => {
    result = fn(req);
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve, reject) => {
    request({ port, host: '127.0.0.1', headers }, (res) => res.resume().on('end', resolve))
      .on('error', reject)
      .end();
  });
  await new Promise((resolve) => server.close(resolve));
  return result;
}

describe('clientAddress', () => {
  const table: [trustProxy: boolean | number, xff: string, expected: string, https: boolean][] = [
    [false, '203.0.113.1', '127.0.0.1', false],
    [true, '203.0.113.1', '203.0.113.1', true],
    [true, '198.51.100.1, 203.0.113.1', '198.51.100.1', true],
    [1, '198.51.100.1, 203.0.113.1', '203.0.113.1', true],
    [2, '198.51.100.1, 203.0.113.1', '198.51.100.1', true],
    [0, '203.0.113.1', '127.0.0.1', false],
  ];
  it.each(table)('trustProxy %s, X-Forwarded-For %s → %s', async (trustProxy, xff, expected, https) => {
    const trust = compileTrust(trustProxy);
    const seen = await withRequest({ 'x-forwarded-for': xff, 'x-forwarded-proto': 'https' }, (req) => [clientAddress(req, trust), cameOverHttps(req, trust)]);
    expect(seen).toEqual([expected, https]);
  });
});

describe('meteringNetwork', () => {
  const table: [address: string, network: string][] = [
    ['203.0.113.7', '203.0.113.7'],
    ['::ffff:203.0.113.7', '203.0.113.7'],
    ['2001:db8:1234:5600::1', '20010db8123456::/56'],
    ['2001:db8:1234:56ff:ffff::1', '20010db8123456::/56'],
    ['2001:db8:1234:5700::1', '20010db8123457::/56'],
  ];
  it.each(table)('%s → %s', (address, network) => expect(meteringNetwork(address)).toBe(network));
});
