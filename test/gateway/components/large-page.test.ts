// A 20 MB article streamed through the component transform in 16 KB chunks, the way an upstream
// sends it, never held whole: by the test (the page is generated piece by piece and the output only
// counted) nor by the transform, whose resident memory must grow far less than the page.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import type { ComponentBehavior } from '../../../src/engine/types.js';
import { createComponentTransform, rewriterMemoryBytes, type ComponentTransformOptions } from '../../../src/gateway/components/index.js';
import { articlePageChunks, paragraphEnd } from '../../support/article-page.js';
import { component, html } from './run-transform.js';

const PAGE_BYTES = 20 * 1024 * 1024;

// A collection now and then keeps the harness's own garbage (the generated page, the counted output)
// from passing for memory the transform holds: resident memory is read right after each.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const banner = component('body', { prepend: [html('<div class="meter">2 free articles left</div>')] });
const cut = component('article.article-body', {
  replaceRange: { fromMarker: '.teaser-end', toMarker: '.article-footer', replaceWith: [html('<div class="offer">Subscribe</div>')] },
});

async function stream(behaviors: Record<string, ComponentBehavior>, options: ComponentTransformOptions, pageBytes = PAGE_BYTES) {
  const transform = createComponentTransform(behaviors, { contentType: 'text/html; charset=utf-8', ...options });
  const rss = () => process.memoryUsage().rss;
  const wasmBefore = rewriterMemoryBytes();
  let before = 0;
  let peak = 0;
  let outBytes = 0;
  let head = '';
  let last: Buffer[] = [];
  transform.stream.on('data', (chunk: Buffer) => {
    outBytes += chunk.length;
    if (head.length < 8192) head += chunk.toString();
    last = [...last.slice(-7), chunk];
  });
  const ended = new Promise((resolve, reject) => transform.stream.on('end', resolve).on('error', reject));
  let inBytes = 0;
  let pieces = 0;
  for (const piece of articlePageChunks(pageBytes, 16_384)) {
    inBytes += piece.length;
    if (!transform.stream.write(piece)) await new Promise((resolve) => transform.stream.once('drain', resolve));
    if (++pieces % 64 === 0) {
      gc();
      // The baseline is taken 2 MB in, once the allocator and the heap have settled; a transform that
      // kept the page would then grow by the other 18 MB.
      if (pieces === 128) before = peak = rss();
      peak = Math.max(peak, rss());
    }
  }
  transform.stream.end();
  await ended;
  const wasmGrowthBytes = rewriterMemoryBytes() - wasmBefore;
  const tail = Buffer.concat(last).toString().slice(-8192);
  return { inBytes, outBytes, head, tail, growthBytes: peak - before, wasmGrowthBytes, ready: await transform.ready, report: await transform.done };
}

describe('a 20 MB page', () => {
  it('streams through with a banner: every byte out, memory growing far less than the page', async () => {
    await stream({ banner }, {}, 200_000); // loads the rewriter's wasm and warms up
    const run = await stream({ banner }, {});
    expect(run.inBytes).toBeGreaterThanOrEqual(PAGE_BYTES);
    expect(run.outBytes).toBe(run.inBytes + '<div class="meter">2 free articles left</div>'.length);
    expect(run.head).toContain('<body><div class="meter">2 free articles left</div>\n<header');
    expect(run.tail).toMatch(/Paragraph [1-9]\d{4} ends here\.<\/p>\n<div class="article-footer">[^]*<\/html>\n$/);
    expect(run.growthBytes).toBeLessThan(PAGE_BYTES / 4);
    expect(run.wasmGrowthBytes).toBeLessThan(1024 * 1024);
  });

  it('on a soft paywall, is cut after the teaser: no paragraph after it goes out, memory flat', async () => {
    await stream({ banner, cut }, { requireCuts: true }, 200_000);
    const run = await stream({ banner, cut }, { requireCuts: true });
    expect(run.inBytes).toBeGreaterThanOrEqual(PAGE_BYTES);
    expect(run.ready).toEqual({ ok: true });
    expect(run.outBytes).toBeLessThan(20_000);
    expect(run.head).toContain(paragraphEnd(2));
    expect(run.head).not.toContain(paragraphEnd(3));
    expect(run.head.match(/ends here/g)).toHaveLength(3);
    expect(run.head).toContain(`${paragraphEnd(2)}</p><div class="offer">Subscribe</div><div class="article-footer">`);
    expect(run.growthBytes).toBeLessThan(PAGE_BYTES / 4);
    expect(run.wasmGrowthBytes).toBeLessThan(1024 * 1024);
  });
});
