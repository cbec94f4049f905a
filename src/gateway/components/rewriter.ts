// The HTML rewriter: lol-html, the rewriter of the MonetizationOS edge proxies, compiled to
// WebAssembly by the `html-rewriter-wasm` package (chosen by measurement: docs/components.md). The
// module compiles its ~1 MB of wasm synchronously when first required (~30 ms), so it is loaded on
// first use: a gateway without components never pays for it. All rewriters share one wasm instance;
// handlers must stay synchronous (an async handler would unwind that shared stack), and every
// element, end tag, text chunk and comment a handler receives owns a little of that instance's memory
// until it is freed: a 20 MB page leaked 25 MB of wasm memory, which never shrinks, before `freeing`.
import { createRequire } from 'node:module';
import type * as HtmlRewriterWasm from 'html-rewriter-wasm';

export type { Element, EndTag, TextChunk, Comment } from 'html-rewriter-wasm';
export type HTMLRewriter = HtmlRewriterWasm.HTMLRewriter;

let library: (typeof HtmlRewriterWasm & { __wasm: { memory: { buffer: ArrayBuffer } } }) | undefined;

function load() {
  library ??= createRequire(import.meta.url)('html-rewriter-wasm');
  return library!;
}

/** A new lol-html rewriter writing its output to `sink` (each chunk a fresh Uint8Array the sink may keep). */
export function createRewriter(sink: (chunk: Uint8Array) => void): HTMLRewriter {
  return new (load().HTMLRewriter)(sink);
}

/** The size of the wasm memory all rewriters share: it grows with the largest work in flight and never shrinks. */
export function rewriterMemoryBytes(): number {
  return load().__wasm.memory.buffer.byteLength;
}

/** A handler that frees what lol-html handed it once it returns (the unit stays valid inside lol-html). */
export function freeing<T>(handler: (unit: T) => void): (unit: T) => void {
  return (unit) => {
    try {
      handler(unit);
    } finally {
      (unit as unknown as { free(): void }).free();
    }
  };
}
