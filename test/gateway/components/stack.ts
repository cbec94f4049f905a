// A gateway with components, through the real listener to a real upstream: a site that serves the
// 50 KB test article (test/support/article-page.ts) in every way a real one might (gzip, br, deflate,
// an unknown coding, JSON, another charset, 204/304, ranges, 20 MB streamed), and a config whose
// surfaces put a meter banner on every page and cut the article after its teaser when the visitor
// has no access. Routes: /site/** (banner only), /soft/** (always denied, soft), /metered/** (3 articles
// per visitor, then denied, soft), /soft-redirect/** (soft, falling back to a redirect), /soft-no-cut/**
// (soft, but only a banner: nothing cuts), /hard/** (always denied, the hard paywall).
import { brotliCompressSync, deflateRawSync, deflateSync, gzipSync } from 'node:zlib';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { articlePage, articlePageChunks, paragraphEnd } from '../../support/article-page.js';
import { rawExchange, startStack, writeConfig, type Stack } from '../harness.js';

export const PAGE = articlePage(50_000);
export const BANNER = '<div class="meter">METER</div>';
export const OFFER = '<div class="offer">Subscribe</div>';
/** Text only the part after the teaser carries: it must never reach a soft-denied visitor. */
export const CUT_TEXT = paragraphEnd(3);
export const TEASER_TEXT = paragraphEnd(2);

/** The page with the banner, written from the semantics: prepended right after `<body>`'s start tag. */
export function withBanner(page: string): string {
  return page.replace('<body>', `<body>${BANNER}`);
}

/** The page cut as the components say: after the teaser's end tag up to the article footer, the offer in between. */
export function cutPage(page: string): string {
  const teaserEnd = page.indexOf(`${TEASER_TEXT}</p>`) + `${TEASER_TEXT}</p>`.length;
  const footer = page.indexOf('<div class="article-footer">');
  return withBanner(page.slice(0, teaserEnd) + OFFER + page.slice(footer));
}

const banner = `const workflow: ComponentWorkflow = async () => ({ content: { prepend: [{ type: 'html', content: '${BANNER}' }] } });
export default workflow;
`;
const cutUnless = (feature: string) => `const workflow: ComponentWorkflow = async ({ features }) =>
  features.${feature}.enabled.hasAccess
    ? {}
    : { content: { replaceRange: { fromMarker: '.teaser-end', toMarker: '.article-footer', replaceWith: [{ type: 'html', content: '${OFFER}' }] } } };
export default workflow;
`;

export const CONFIG = `version: 1
jwt:
  integrations:
    - name: Test
      algorithms: [RS256]
      publicKeyFile: \${PLANGATE_TEST_JWT_PUBLIC_KEY}
      claimKey: sub
features:
  articles: {}
  premium: {}
plans:
  anyone: { assign: anonymous, features: { articles: { enabled: { limit: 3, period: lifetime } } } }
  members: { assign: authenticated, features: { articles: { enabled: { limit: 3, period: lifetime } } } }
surfaces:
  site:
    components:
      banner: { selector: body, workflow: banner.ts }
  premium:
    components:
      banner: { selector: body, workflow: banner.ts }
      cut: { selector: article.article-body, workflow: cut-premium.ts }
  metered:
    components:
      banner: { selector: body, workflow: banner.ts }
      cut: { selector: article.article-body, workflow: cut-metered.ts }
gateway:
  upstream: \${PLANGATE_UPSTREAM}
  routes:
    - path: /soft/**
      surface: premium
      require: premium.enabled
      deny: { action: paywall, mode: soft }
    - path: /metered/**
      surface: metered
      consume: [articles.enabled]
      deny: { action: paywall, mode: soft }
    - path: /soft-redirect/**
      surface: premium
      require: premium.enabled
      deny: { action: redirect, url: /subscribe, mode: soft }
    - path: /soft-no-cut/**
      surface: site
      require: premium.enabled
      deny: { action: paywall, mode: soft }
    - path: /hard/**
      surface: premium
      require: premium.enabled
    - path: /site/**
      surface: site
    - path: /**
      bypass: true
`;

type Serve = (req: IncomingMessage, res: ServerResponse) => void;

const HTML = 'text/html; charset=utf-8';
const VALIDATORS = { etag: '"v1"', 'last-modified': 'Wed, 02 Dec 2026 08:00:00 GMT' };

/** The page as a site serves it: with its length and validators; a Range request gets 206 with that part. */
const whole =
  (body: Buffer, headers: Record<string, string>): Serve =>
  (req, res) => {
    const range = /^bytes=(\d+)-(\d*)$/.exec(String(req.headers.range ?? ''));
    if (range) {
      const start = Number(range[1]);
      const end = range[2] === '' ? body.length - 1 : Math.min(Number(range[2]), body.length - 1);
      res.writeHead(206, { ...headers, ...VALIDATORS, 'content-range': `bytes ${start}-${end}/${body.length}`, 'content-length': String(end - start + 1) });
      res.end(body.subarray(start, end + 1));
      return;
    }
    if (req.headers['if-none-match'] === VALIDATORS.etag) {
      res.writeHead(304, VALIDATORS);
      res.end();
      return;
    }
    res.writeHead(200, { ...headers, ...VALIDATORS, 'content-length': String(body.length), 'accept-ranges': 'bytes' });
    res.end(body);
  };

/** 20 MB, generated as it goes, written with backpressure. */
const big: Serve = async (_req, res) => {
  res.writeHead(200, { 'content-type': HTML });
  for (const piece of articlePageChunks(20 * 1024 * 1024, 16_384)) {
    if (!res.write(piece)) await new Promise((resolve) => res.once('drain', resolve));
    if (res.destroyed) return;
  }
  res.end();
};

const page = Buffer.from(PAGE);

/**
 * The page with the bytes around the teaser marker, its end and the article footer written one at a
 * time, each in its own TCP write: every marker reaches the gateway split across 1-byte chunks.
 */
const trickle: Serve = async (_req, res) => {
  res.writeHead(200, { 'content-type': HTML });
  const around = (text: string) => {
    const at = page.indexOf(text);
    return [at - 40, at + Buffer.byteLength(text) + 40] as const;
  };
  const windows = [around('<p class="teaser-end">'), around(`${TEASER_TEXT}</p>`), around('<div class="article-footer">')];
  let at = 0;
  for (const [from, to] of windows) {
    res.write(page.subarray(at, from));
    for (let i = from; i < to; i++) {
      res.write(page.subarray(i, i + 1));
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    at = to;
  }
  res.end(page.subarray(at));
};
export const LATIN1_PAGE = Buffer.from(
  PAGE.replace('<meta charset="utf-8">', '<meta charset="windows-1252">').replace('City Reporter', 'Caf\u00e9 Reporter'),
  'latin1',
);

/** Page variants by name; each is served under every route prefix (`/site/<name>`, `/soft/<name>`, ...). */
export const VARIANTS: Record<string, Serve> = {
  plain: whole(page, { 'content-type': HTML }),
  gzip: whole(gzipSync(page), { 'content-type': HTML, 'content-encoding': 'gzip', vary: 'Accept-Encoding' }),
  br: whole(brotliCompressSync(page), { 'content-type': HTML, 'content-encoding': 'br', vary: 'Accept-Encoding' }),
  deflate: whole(deflateSync(page), { 'content-type': HTML, 'content-encoding': 'deflate' }),
  'deflate-raw': whole(deflateRawSync(page), { 'content-type': HTML, 'content-encoding': 'deflate' }),
  // A coding plangate cannot decode, whose bytes are the page itself: a leak would show in plain text.
  unknown: whole(page, { 'content-type': HTML, 'content-encoding': 'x-plain' }),
  json: whole(Buffer.from(JSON.stringify({ body: PAGE })), { 'content-type': 'application/json' }),
  'no-marker': whole(Buffer.from(PAGE.replace('class="teaser-end"', '')), { 'content-type': HTML }),
  latin1: whole(LATIN1_PAGE, { 'content-type': 'text/html' }),
  'no-content': (_req, res) => {
    res.writeHead(204, VALIDATORS);
    res.end();
  },
  'not-modified': (_req, res) => {
    res.writeHead(304, VALIDATORS);
    res.end();
  },
  big,
  trickle,
  // A gzip header, then bytes that are not deflate data: decoding fails after the head arrived.
  'corrupt-gzip': whole(Buffer.concat([gzipSync(page).subarray(0, 10), Buffer.from(PAGE.slice(0, 4096))]), { 'content-type': HTML, 'content-encoding': 'gzip' }),
};

export const PREFIXES = ['/site', '/soft', '/metered', '/soft-redirect', '/soft-no-cut', '/hard', '/bypass'];

export async function startComponentStack(scope: string): Promise<Stack> {
  const file = writeConfig(CONFIG, { 'banner.ts': banner, 'cut-premium.ts': cutUnless('premium'), 'cut-metered.ts': cutUnless('articles') });
  const stack = await startStack(file, scope);
  for (const prefix of PREFIXES) for (const [name, serve] of Object.entries(VARIANTS)) stack.upstream.handlers.set(`${prefix}/${name}`, (req, res) => (serve(req, res), true));
  return stack;
}

export interface RawAnswer {
  status: number;
  /** Header names lowercased; repeated ones joined with ", ". */
  headers: Record<string, string>;
  /** Every byte after the head, as received (chunk-size lines included). */
  raw: Buffer;
  /** The body with the chunked framing removed (still in its Content-Encoding). */
  body: Buffer;
}

/** One request on its own connection; the response exactly as the gateway sent it. */
export async function rawGet(baseUrl: string, target: string, headerLines: string[] = [], method = 'GET'): Promise<RawAnswer> {
  const { hostname } = new URL(baseUrl);
  const text = await rawExchange(baseUrl, `${method} ${target} HTTP/1.1\r\nHost: ${hostname}\r\n${headerLines.map((l) => `${l}\r\n`).join('')}Connection: close\r\n\r\n`);
  const bytes = Buffer.from(text, 'latin1');
  const split = bytes.indexOf('\r\n\r\n');
  const head = bytes.subarray(0, split).toString('latin1').split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of head.slice(1)) {
    const colon = line.indexOf(':');
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
  }
  const raw = bytes.subarray(split + 4);
  return { status: Number(head[0].split(' ')[1]), headers, raw, body: headers['transfer-encoding'] === 'chunked' ? dechunk(raw) : raw };
}

function dechunk(raw: Buffer): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const lineEnd = raw.indexOf('\r\n', at);
    if (lineEnd === -1) break;
    const size = parseInt(raw.subarray(at, lineEnd).toString('latin1'), 16);
    if (!(size > 0)) break;
    parts.push(raw.subarray(lineEnd + 2, lineEnd + 2 + size));
    at = lineEnd + 2 + size + 2;
  }
  return Buffer.concat(parts);
}
