// Streams a page through a component transform in chunks of a given size and collects everything:
// the bytes out (and whether any came out before `ready` settled), `ready`, the report, the error.
import type { ComponentBehavior } from '../../../src/engine/types.js';
import { createComponentTransform, type ComponentTransformOptions, type TransformReady, type TransformReport } from '../../../src/gateway/components/index.js';

export interface TransformRun {
  output: string;
  bytes: Buffer;
  ready: TransformReady;
  report: TransformReport;
  error?: Error & { code?: string };
  /** Bytes that came out while `ready` had not settled yet. */
  bytesBeforeReady: number;
}

export async function runTransform(
  page: string | Buffer | Iterable<string | Buffer>,
  behaviors: Record<string, ComponentBehavior>,
  options: ComponentTransformOptions & { chunkSize?: number } = {},
): Promise<TransformRun> {
  const { chunkSize, ...transformOptions } = options;
  const transform = createComponentTransform(behaviors, { contentType: 'text/html; charset=utf-8', ...transformOptions });
  let bytesBeforeReady = 0;
  const out: Buffer[] = [];
  transform.stream.on('data', (chunk: Buffer) => {
    if (transform.readyNow === undefined) bytesBeforeReady += chunk.length;
    out.push(chunk);
  });
  const ended = new Promise<Error | undefined>((resolve) => {
    transform.stream.on('end', () => resolve(undefined));
    transform.stream.on('error', (error) => resolve(error));
  });
  const pieces = typeof page === 'string' || Buffer.isBuffer(page) ? [Buffer.from(page)] : [...page].map((p) => Buffer.from(p));
  for (const piece of pieces) {
    const size = chunkSize ?? piece.length;
    for (let i = 0; i < piece.length; i += size) {
      if (transform.stream.destroyed) break;
      if (!transform.stream.write(piece.subarray(i, i + size))) await new Promise((resolve) => transform.stream.once('drain', resolve));
    }
  }
  if (!transform.stream.destroyed) transform.stream.end();
  const error = await ended;
  const bytes = Buffer.concat(out);
  return { output: bytes.toString('utf8'), bytes, ready: await transform.ready, report: await transform.done, error, bytesBeforeReady };
}

export const html = (content: string) => ({ type: 'html' as const, content });
export const text = (content: string) => ({ type: 'text' as const, content });

export function component(cssSelector: string, content: unknown): ComponentBehavior {
  return { metadata: { cssSelector }, content };
}
