// The HTML rewriter for components, chosen by measurement (docs/components.md, "The rewriter").
// Each candidate applies the same decision to the same 50 KB article (test/support/article-page.ts):
// a banner prepended to <body> and a cut after the teaser (`.teaser-end`) up to `.article-footer`,
// with an offer element in its place. Every candidate runs in its own child process (so resident
// memory is its own), in alternating rounds, and must produce byte-identical output.
//
//   npx tsx bench/rewriters.ts [--rounds 5] [--seconds 1.5] [--only lol-html,parse5,plangate]
//
// It ends with what re-encoding the transformed page costs: gzip and brotli at a few qualities,
// streamed in 16 KB writes each flushed (as content-coding.ts encodes), CPU per page and bytes out.
//
// - lol-html: `html-rewriter-wasm` (lol-html, the edge proxies' rewriter, compiled to wasm) driven
//   directly with the fewest handlers that do the job;
// - parse5: `parse5-html-rewriting-stream` (pure JS) with hand-written matching for these exact
//   selectors: a lower bound for a pure-JS rewriter, which would still need a selector engine;
// - plangate: the component transform as shipped (src/gateway/components/), on html-rewriter-wasm,
//   with the behaviours as the engine produces them.
import { spawn } from 'node:child_process';
import zlib from 'node:zlib';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { Comment, Element, TextChunk } from 'html-rewriter-wasm';
import { articlePage } from '../test/support/article-page.js';
import { median } from './stats.js';

const BANNER = '<div class="meter-banner">You have 2 free articles left this month. <a href="/plans">Subscribe</a></div>';
const OFFER = '<mos-offer version="1" props="{&quot;plan&quot;:&quot;premium&quot;}"></mos-offer>';
const PAGE = Buffer.from(articlePage(50_000));
const KB = PAGE.length / 1024;

type Rewrite = (chunks: readonly Buffer[]) => Promise<Buffer>;

interface Candidate {
  name: string;
  load(): Promise<Rewrite>;
}

const candidates: Candidate[] = [
  {
    name: 'lol-html',
    async load() {
      const { HTMLRewriter } = await import('html-rewriter-wasm');
      const { freeing } = await import('../src/gateway/components/rewriter.js');
      return async (chunks) => {
        const out: Uint8Array[] = [];
        const rewriter = new HTMLRewriter((chunk) => out.push(chunk));
        let state: 'scan' | 'cut' | 'done' = 'scan';
        // Every unit lol-html hands a handler is freed after it (else wasm memory leaks: rewriter.ts).
        rewriter.on('body', { element: freeing((e: Element) => void e.prepend(BANNER, { html: true })) });
        rewriter.on('article.article-body', {
          text: freeing((t: TextChunk) => void (state === 'cut' && t.remove())),
          comments: freeing((c: Comment) => void (state === 'cut' && c.remove())),
        });
        rewriter.on('article.article-body .article-footer', { element: freeing(() => void (state === 'cut' && (state = 'done'))) });
        rewriter.on('article.article-body *', { element: freeing((e: Element) => void (state === 'cut' && e.remove())) });
        rewriter.on('article.article-body .teaser-end', {
          element: freeing((e: Element) => {
            if (state !== 'scan') return;
            e.after(OFFER, { html: true });
            e.onEndTag(freeing(() => void (state = 'cut')));
          }),
        });
        try {
          for (const chunk of chunks) await rewriter.write(chunk);
          await rewriter.end();
        } finally {
          rewriter.free();
        }
        return Buffer.concat(out);
      };
    },
  },
  {
    name: 'parse5',
    async load() {
      const { RewritingStream } = await import('parse5-html-rewriting-stream');
      const VOID = new Set(['area', 'base', 'br', 'col', 'embed', 'hr', 'img', 'input', 'link', 'meta', 'source', 'track', 'wbr']);
      const hasClass = (attrs: { name: string; value: string }[], name: string) => attrs.some((a) => a.name === 'class' && a.value.split(/\s+/).includes(name));
      return (chunks) =>
        new Promise((resolve, reject) => {
          const rs = new RewritingStream();
          const out: string[] = [];
          let depth = 0;
          let container = -1;
          let from = -1;
          let skip = -1;
          let state: 'scan' | 'cut' | 'done' = 'scan';
          rs.on('startTag', (tag, raw) => {
            const opens = !VOID.has(tag.tagName) && !tag.selfClosing;
            if (skip >= 0) {
              if (opens) depth++;
              return;
            }
            if (container >= 0 && state === 'cut') {
              if (hasClass(tag.attrs, 'article-footer')) state = 'done';
              else {
                if (opens) skip = depth++;
                return;
              }
            }
            if (tag.tagName === 'body') raw += BANNER;
            else if (tag.tagName === 'article' && hasClass(tag.attrs, 'article-body')) container = depth;
            else if (container >= 0 && state === 'scan' && hasClass(tag.attrs, 'teaser-end')) from = depth;
            rs.emitRaw(raw);
            if (opens) depth++;
          });
          rs.on('endTag', (tag, raw) => {
            if (VOID.has(tag.tagName)) return void rs.emitRaw(raw);
            depth--;
            if (skip >= 0) {
              if (depth === skip) skip = -1;
              return;
            }
            if (depth === from) {
              from = -1;
              state = 'cut';
              raw += OFFER;
            } else if (depth === container) container = -1;
            rs.emitRaw(raw);
          });
          rs.on('text', (_, raw) => void (skip < 0 && !(container >= 0 && state === 'cut') && rs.emitRaw(raw)));
          rs.on('comment', (_, raw) => void (skip < 0 && !(container >= 0 && state === 'cut') && rs.emitRaw(raw)));
          rs.on('data', (s: string) => out.push(s));
          rs.on('end', () => resolve(Buffer.from(out.join(''))));
          rs.on('error', reject);
          const decoder = new TextDecoder();
          for (const chunk of chunks) rs.write(decoder.decode(chunk, { stream: true }));
          rs.end(decoder.decode());
        });
    },
  },
  {
    name: 'plangate',
    async load() {
      const { createComponentTransform } = await import('../src/gateway/components/index.js');
      const behaviors = {
        'meter-banner': { metadata: { cssSelector: 'body' }, content: { prepend: [{ type: 'html', content: BANNER }] } },
        'article-cut': {
          metadata: { cssSelector: 'article.article-body' },
          content: {
            replaceRange: {
              fromMarker: '.teaser-end',
              toMarker: '.article-footer',
              replaceWith: [{ type: 'element', schema: 'mos:offer@1', props: { plan: 'premium' } }],
            },
          },
        },
      };
      return async (chunks) => {
        const transform = createComponentTransform(behaviors, { contentType: 'text/html; charset=utf-8' });
        const out: Buffer[] = [];
        transform.stream.on('data', (chunk: Buffer) => out.push(chunk));
        const ended = new Promise((resolve, reject) => transform.stream.on('end', resolve).on('error', reject));
        for (const chunk of chunks) if (!transform.stream.write(chunk)) await new Promise((r) => transform.stream.once('drain', r));
        transform.stream.end();
        await ended;
        return Buffer.concat(out);
      };
    },
  },
];

function split(page: Buffer, size: number): Buffer[] {
  const chunks: Buffer[] = [];
  for (let i = 0; i < page.length; i += size) chunks.push(page.subarray(i, i + size));
  return chunks;
}

const rssMb = () => process.memoryUsage().rss / 1024 / 1024;

interface ChildResult {
  usPerPage: number;
  cpuUsPerPage: number;
  oneByteUsPerPage: number;
  oneByteSame: boolean;
  rssAfterLoadMb: number;
  rssAfterRunMb: number;
  rssConcurrentMb: number;
  sha: string;
}

/** One candidate, in this (child) process: timed pages in 16 KB chunks, then 1-byte chunks, then 200 at once. */
async function measureHere(name: string, seconds: number): Promise<ChildResult> {
  const rewrite = await candidates.find((c) => c.name === name)!.load();
  const chunks = split(PAGE, 16_384);
  const reference = await rewrite(chunks);
  const rssAfterLoadMb = rssMb();
  for (let i = 0; i < 300; i++) await rewrite(chunks);
  let pages = 0;
  const cpu = process.cpuUsage();
  const started = performance.now();
  while (performance.now() - started < seconds * 1000) {
    await rewrite(chunks);
    pages++;
  }
  const elapsed = performance.now() - started;
  const used = process.cpuUsage(cpu);
  const rssAfterRunMb = rssMb();
  const bytes = split(PAGE, 1);
  const oneStarted = performance.now();
  let oneByteSame = true;
  for (let i = 0; i < 3; i++) oneByteSame &&= (await rewrite(bytes)).equals(reference);
  const oneByteUsPerPage = ((performance.now() - oneStarted) / 3) * 1000;
  // 200 pages in flight at once, their chunks interleaved, as 200 concurrent responses would be.
  let peak = rssMb();
  const sampler = setInterval(() => (peak = Math.max(peak, rssMb())), 5);
  await Promise.all(
    Array.from({ length: 200 }, async (_, i) => {
      await new Promise((r) => setTimeout(r, i % 10));
      return rewrite(split(PAGE, 4_096));
    }),
  );
  clearInterval(sampler);
  peak = Math.max(peak, rssMb());
  return {
    usPerPage: (elapsed * 1000) / pages,
    cpuUsPerPage: (used.user + used.system) / pages,
    oneByteUsPerPage,
    oneByteSame,
    rssAfterLoadMb,
    rssAfterRunMb,
    rssConcurrentMb: peak,
    sha: createHash('sha256').update(reference).digest('hex').slice(0, 12),
  };
}

function runChild(name: string, seconds: number): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), '--child', name, '--seconds', String(seconds)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`${name} exited with ${code}`))));
  });
}

const args = process.argv.slice(2);
const option = (flag: string, fallback: string) => (args.includes(flag) ? args[args.indexOf(flag) + 1] : fallback);

if (args[0] === '--child') {
  process.stdout.write(JSON.stringify(await measureHere(args[1], Number(option('--seconds', '1.5')))));
} else {
  const rounds = Number(option('--rounds', '5'));
  const seconds = Number(option('--seconds', '1.5'));
  const names = option('--only', candidates.map((c) => c.name).join(',')).split(',');
  const results = new Map<string, ChildResult[]>(names.map((n) => [n, []]));
  console.log(`page ${PAGE.length} bytes (${KB.toFixed(1)} KB), ${rounds} alternating rounds of ${seconds} s, node ${process.version}`);
  for (let r = 0; r < rounds; r++) for (const name of names) results.get(name)!.push(await runChild(name, seconds));
  const m = (list: ChildResult[], key: keyof ChildResult) => median(list.map((x) => x[key] as number));
  console.log('candidate   µs/page  µs/KB  MB/s   cpu µs/KB  1-byte chunks ms/page  same  RSS load→run→200 at once (MB)  output');
  for (const [name, list] of results) {
    const us = m(list, 'usPerPage');
    console.log(
      `${name.padEnd(10)} ${us.toFixed(0).padStart(7)} ${(us / KB).toFixed(2).padStart(6)} ${(PAGE.length / us).toFixed(1).padStart(6)} ` +
        `${(m(list, 'cpuUsPerPage') / KB).toFixed(2).padStart(9)}  ${(m(list, 'oneByteUsPerPage') / 1000).toFixed(1).padStart(21)}  ${String(list.every((x) => x.oneByteSame)).padStart(5)}` +
        `  ${m(list, 'rssAfterLoadMb').toFixed(0)} → ${m(list, 'rssAfterRunMb').toFixed(0)} → ${m(list, 'rssConcurrentMb').toFixed(0)}`.padEnd(32) +
        `  ${list[0].sha}`,
    );
  }
}

/** CPU per page to re-encode the page in 16 KB writes, each flushed, and the size that comes out. */
async function encodingCost(name: string, make: () => zlib.Gzip | zlib.BrotliCompress): Promise<string> {
  const chunks = split(PAGE, 16_384);
  const once = () =>
    new Promise<number>((resolve, reject) => {
      const encoder = make();
      let size = 0;
      encoder.on('data', (chunk: Buffer) => (size += chunk.length));
      encoder.on('end', () => resolve(size)).on('error', reject);
      for (const chunk of chunks) encoder.write(chunk);
      encoder.end();
    });
  for (let i = 0; i < 20; i++) await once();
  const cpu = process.cpuUsage();
  let size = 0;
  const pages = 100;
  for (let i = 0; i < pages; i++) size = await once();
  const used = process.cpuUsage(cpu);
  return `${name.padEnd(22)} ${((used.user + used.system) / pages).toFixed(0).padStart(6)} µs/page  ${String(size).padStart(6)} bytes`;
}

if (args[0] !== '--child' && !args.includes('--no-codings')) {
  const flush = { flush: zlib.constants.Z_SYNC_FLUSH };
  const brotli = (quality: number) => () =>
    zlib.createBrotliCompress({ ...flush, flush: zlib.constants.BROTLI_OPERATION_FLUSH, params: { [zlib.constants.BROTLI_PARAM_QUALITY]: quality } });
  console.log(`re-encoding the ${PAGE.length}-byte page (CPU in the main process, includes zlib's thread pool):`);
  console.log(await encodingCost('gzip level 6', () => zlib.createGzip({ level: 6, ...flush })));
  console.log(await encodingCost('gzip level 1', () => zlib.createGzip({ level: 1, ...flush })));
  for (const quality of [4, 5, 11]) console.log(await encodingCost(`brotli quality ${quality}`, brotli(quality)));
}
