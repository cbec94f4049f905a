// Signs what the upstream receives (docs/gateway.md "Signed headers", docs/upstream.md): one HMAC-SHA256 per forwarded
// request, over the timestamp, method, Host, request target, request id and every `<prefix>*` header,
// with the current key (the first configured). Previous keys are only for verifiers during rotation.
import { createSecretKey } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { GatewayModel } from './model.js';
import { formatSignature, signatureMac } from '../verify/canonical.js';

export type SigningConfig = NonNullable<GatewayModel['signing']>;

export interface SignInput {
  method: string;
  /** The exact request target the upstream receives. */
  target: string;
  requestId: string;
  /** The outgoing headers after stripping and injection; the signature header is set on them. */
  headers: IncomingHttpHeaders;
  /** The upstream's authority, sent as `Host` when the client sent none (HTTP/1.0). */
  defaultHost: string;
}

/** Built once at start (the key is imported once); the returned function signs in place. */
export function createHeaderSigner(signing: SigningConfig, prefix: string, now: () => number = Date.now): (input: SignInput) => void {
  const current = signing.keys[0];
  const key = createSecretKey(Buffer.from(current.secret, 'utf8'));
  const header = signing.header ?? `${prefix}signature`;
  return ({ method, target, requestId, headers, defaultHost }) => {
    if (headers[header] !== undefined) headers[header] = undefined;
    if (headers.host === undefined) headers.host = defaultHost;
    const signed: [string, string][] = [];
    for (const [name, value] of Object.entries(headers)) {
      if (name.startsWith(prefix) && typeof value === 'string') signed.push([name, value]);
    }
    signed.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    const timestamp = Math.floor(now() / 1000);
    const mac = signatureMac(key, { timestamp, method, host: headers.host, target, requestId, headers: signed });
    headers[header] = formatSignature({ timestamp, keyId: current.id, names: signed.map(([name]) => name), mac });
  };
}
