// Components at the gateway, the response side (docs/components.md "At the gateway"): whether the
// upstream's response is transformed, passed as it is, or (on a soft denial) refused; the head a
// transformed page goes out with; and the chain its body streams through: the upstream's codings
// decoded, the components applied, the page re-encoded as the client accepts.
import type { IncomingHttpHeaders } from 'node:http';
import { pipeline, type Readable, type Writable } from 'node:stream';
import {
  contentCodings,
  createComponentTransform,
  decoders,
  responseCoding,
  responseEncoder,
  type Coding,
  type TransformReady,
  type TransformReport,
} from './components/index.js';
import type { ComponentPlan } from './component-plan.js';
import { statusAllowsBody, type HeaderRecord, type ResponseHead } from './response-merge.js';

/** Why a soft-denied response cannot be cut (the hard denial goes instead); stable, for the log. */
export type RefusalReason = 'status' | 'not-html' | 'encoding' | TransformFailure;
type TransformFailure = Extract<TransformReady, { ok: false }>['reason'] | 'decode-failed';

export type ResponseRoute = { kind: 'pass' } | { kind: 'transform'; codings: Coding[] } | { kind: 'refuse'; reason: RefusalReason; detail: string };

const first = (value: string | string[] | undefined) => (Array.isArray(value) ? value.join(', ') : value);

/** `text/html`, any parameters, any case: what lol-html rewrites. */
function isHtml(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  const semicolon = contentType.indexOf(';');
  return (semicolon === -1 ? contentType : contentType.slice(0, semicolon)).trim().toLowerCase() === 'text/html';
}

/**
 * What to do with the upstream's response. A decorated page (no soft denial) is transformed when it
 * is a whole HTML page in codings plangate decodes, and passed as it is otherwise. A soft-denied one
 * must be cut: anything else (another status, another type, an unknown coding) is refused.
 */
export function routeResponse(head: ResponseHead, soft: boolean): ResponseRoute {
  const { status } = head;
  const whole = status >= 200 && status <= 299 && status !== 206 && statusAllowsBody(status);
  const contentType = first(head.headers['content-type']);
  const codings = contentCodings(first(head.headers['content-encoding']));
  if (!soft) return whole && isHtml(contentType) && codings.ok ? { kind: 'transform', codings: codings.codings } : { kind: 'pass' };
  if (!whole) return { kind: 'refuse', reason: 'status', detail: `the upstream answered ${status}, not a whole page` };
  if (!isHtml(contentType)) return { kind: 'refuse', reason: 'not-html', detail: `the upstream answered ${JSON.stringify(contentType ?? 'no Content-Type')}, not text/html` };
  if (!codings.ok) return { kind: 'refuse', reason: 'encoding', detail: `the upstream's Content-Encoding ${JSON.stringify(codings.coding)} cannot be decoded` };
  return { kind: 'transform', codings: codings.codings };
}

/** Headers that describe the upstream's bytes, not the transformed page (a kept ETag would revalidate the cut page to 304). */
const UNTRUE_AFTER_TRANSFORM = new Set(['content-length', 'content-encoding', 'etag', 'last-modified', 'content-md5', 'digest', 'repr-digest', 'content-digest', 'accept-ranges', 'content-range']);

/**
 * After the head was shaped (a workflow's `addHeaders` may name any header): a transformed page
 * still has no length, validators or ranges, whoever set them; `noStore` for a soft denial's cut page.
 */
export function settleTransformedHead(head: ResponseHead, noStore: boolean): void {
  for (const name of UNTRUE_AFTER_TRANSFORM) if (name !== 'content-encoding' && head.headers[name] !== undefined) delete head.headers[name];
  // A cut page must not outlive the denial: once the reader subscribes, the next visit fetches it again.
  if (noStore) head.headers['cache-control'] = 'private, no-store';
}

/** The upstream's head for the transformed page: its length, validators and coding gone, the new coding named. */
export function transformedHead(head: ResponseHead, coding: 'br' | 'gzip' | undefined, varyOnEncoding: boolean): ResponseHead {
  const headers: HeaderRecord = {};
  for (const name in head.headers) if (!UNTRUE_AFTER_TRANSFORM.has(name)) headers[name] = head.headers[name];
  if (coding !== undefined) headers['content-encoding'] = coding;
  if (varyOnEncoding) {
    const vary = first(headers.vary);
    if (vary === undefined || vary.trim() === '') headers.vary = 'Accept-Encoding';
    else if (!/(^|,)\s*(accept-encoding|\*)\s*(,|$)/i.test(vary)) headers.vary = `${vary}, Accept-Encoding`;
  }
  return { status: head.status, statusText: head.statusText, headers };
}

export interface TransformedBody {
  /** Where the upstream's body goes, chunk by chunk. */
  input: Writable;
  /** The transformed page, encoded for the client. */
  output: Readable;
  /** The coding the output is in (undefined: identity). */
  coding: 'br' | 'gzip' | undefined;
  /** Settles before the output's first byte: on a soft denial, whether the page could be cut. */
  ready: Promise<TransformReady>;
  done: Promise<TransformReport>;
  /** Settles once, with the first error of any stream in the chain (never for a clean end). */
  failed: Promise<Error>;
  destroy(): void;
}

/**
 * The chain a transformed page streams through. An upstream that compressed the page gets it
 * re-encoded (brotli or gzip, as the client accepts); one that sent it as identity, as identity.
 */
export function openTransform(
  plan: ComponentPlan,
  upstream: { headers: HeaderRecord; codings: Coding[] },
  request: { headers: IncomingHttpHeaders },
): TransformedBody {
  const transform = createComponentTransform(plan.behaviors, {
    contentType: first(upstream.headers['content-type']),
    requireCuts: plan.hardDenial !== undefined,
  });
  const coding = upstream.codings.length > 0 ? responseCoding(first(request.headers['accept-encoding'])) : undefined;
  const streams: (Readable | Writable)[] = [...decoders(upstream.codings), transform.stream];
  if (coding !== undefined) streams.push(responseEncoder(coding));
  let fail!: (error: Error) => void;
  const failed = new Promise<Error>((resolve) => (fail = resolve));
  let output: Readable;
  if (streams.length === 1) {
    output = transform.stream;
    output.once('error', fail);
  } else
    output = pipeline(streams as [Readable, ...Writable[]], (error) => {
      if (error) fail(error);
    }) as unknown as Readable;
  return {
    input: streams[0] as Writable,
    output,
    coding,
    ready: transform.ready,
    done: transform.done,
    failed,
    destroy() {
      for (const stream of streams) stream.destroy();
    },
  };
}
