// Compressed pages: decoded whatever the chunking, transformed, re-encoded as brotli or gzip for the
// clients that accept them; and what the gateway asks the upstream for when it must be able to decode.
import { pipeline } from 'node:stream/promises';
import { Readable, Writable } from 'node:stream';
import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  contentCodings,
  createComponentTransform,
  decodableAcceptEncoding,
  decoders,
  responseCoding,
  responseEncoder,
} from '../../../src/gateway/components/index.js';
import { articlePage } from '../../support/article-page.js';
import { component, html } from './run-transform.js';

const PAGE = articlePage(50_000);

function chunked(bytes: Buffer, size: number): Readable {
  const chunks: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.subarray(i, i + size));
  return Readable.from(chunks);
}

async function collect(source: Readable, ...through: NodeJS.ReadWriteStream[]): Promise<Buffer> {
  const out: Buffer[] = [];
  await pipeline(
    source,
    ...(through as [NodeJS.ReadWriteStream]),
    new Writable({
      write(chunk: Buffer, _encoding, callback) {
        out.push(chunk);
        callback();
      },
    }),
  );
  return Buffer.concat(out);
}

describe('contentCodings', () => {
  it.each([
    [undefined, []],
    ['', []],
    ['identity', []],
    ['gzip', ['gzip']],
    ['X-Gzip', ['gzip']],
    ['deflate, br', ['deflate', 'br']],
    ['br , identity', ['br']],
  ])('%j → %j', (header, codings) => expect(contentCodings(header)).toEqual({ ok: true, codings }));

  it.each(['zstd', 'compress', 'gzip, zstd', 'exi'])('%j cannot be decoded, and says which coding', (header) => {
    expect(contentCodings(header)).toEqual({ ok: false, coding: header.split(',').pop()!.trim() });
  });
});

describe('decoders', () => {
  const page = Buffer.from(PAGE);
  it.each([
    ['gzip', zlib.gzipSync(page)],
    ['br', zlib.brotliCompressSync(page)],
    ['deflate', zlib.deflateSync(page)],
    ['deflate', zlib.deflateRawSync(page)], // as some servers send it
    ['deflate, br', zlib.brotliCompressSync(zlib.deflateSync(page))],
    ['gzip, gzip', zlib.gzipSync(zlib.gzipSync(page))],
  ])('%s (%#), in 16 KB and in 1-byte chunks', async (header, body) => {
    const codings = contentCodings(header);
    if (!codings.ok) throw new Error('unexpected');
    for (const size of [16_384, 1]) expect((await collect(chunked(body, size), ...decoders(codings.codings))).toString()).toBe(PAGE);
  });

  it('a corrupt body fails the pipeline instead of passing garbage', async () => {
    await expect(collect(chunked(Buffer.from('not gzip at all'), 4), ...decoders(['gzip']))).rejects.toThrow();
  });

  it.each(['br', 'gzip'] as const)('decode, transform, re-encode as %s: the client decodes the transformed page', async (coding) => {
    const transform = createComponentTransform(
      { banner: component('body', { prepend: [html('<div class="meter">3 left</div>')] }) },
      { contentType: 'text/html; charset=utf-8' },
    );
    const encoded = await collect(chunked(zlib.brotliCompressSync(Buffer.from(PAGE)), 1000), ...decoders(['br']), transform.stream, responseEncoder(coding));
    const decoded = coding === 'br' ? zlib.brotliDecompressSync(encoded) : zlib.gunzipSync(encoded);
    expect(decoded.toString()).toBe(PAGE.replace('<body>', '<body><div class="meter">3 left</div>'));
  });

  it.each(['br', 'gzip'] as const)('the %s encoder flushes every write: what was written can be read before the page ends', async (coding) => {
    const encoder = responseEncoder(coding);
    const out: Buffer[] = [];
    encoder.on('data', (chunk: Buffer) => out.push(chunk));
    encoder.write('<!doctype html><head><title>early</title>');
    const partial = () =>
      coding === 'br'
        ? zlib.brotliDecompressSync(Buffer.concat(out), { finishFlush: zlib.constants.BROTLI_OPERATION_FLUSH }).toString()
        : zlib.gunzipSync(Buffer.concat(out), { finishFlush: zlib.constants.Z_SYNC_FLUSH }).toString();
    // zlib works on the thread pool: wait for its output, without ending the stream.
    for (let i = 0; i < 100 && partial() === ''; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(partial()).toBe('<!doctype html><head><title>early</title>');
    encoder.end();
  });
});

describe('Accept-Encoding', () => {
  it.each([
    ['gzip, deflate, br', 'br'],
    ['br;q=1.0, gzip;q=0.8', 'br'],
    ['br;q=0.5, gzip', 'gzip'],
    ['gzip', 'gzip'],
    ['X-Gzip', 'gzip'],
    ['br', 'br'],
    ['gzip;q=0', undefined],
    ['*', 'br'],
    ['*;q=0', undefined],
    ['gzip, *;q=0', 'gzip'],
    ['br;q=0, *', 'gzip'],
    [undefined, undefined],
    ['identity', undefined],
    ['deflate', undefined],
  ])('responseCoding(%j) is %s', (header, expected) => expect(responseCoding(header)).toBe(expected));

  it.each([
    ['gzip, deflate, br, zstd', 'gzip, deflate, br'],
    ['zstd;q=1, br;q=0.9', 'br;q=0.9'],
    ['zstd', 'identity'],
    [undefined, 'identity'],
    ['identity;q=1, *;q=0', 'identity;q=1'],
  ])('forwarded when the response must be decodable: %j → %j', (header, expected) => expect(decodableAcceptEncoding(header)).toBe(expected));
});
