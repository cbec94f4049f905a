// Compressed HTML bodies (docs/components.md, "Compressed pages"): a page with components applied is
// decoded first (gzip, deflate, br, and any chain of them), and the transformed page goes to the
// client as brotli (quality 5) when it accepts brotli, else as gzip (level 6) when it accepts gzip,
// else as identity. On the 50 KB benchmark article, brotli 5 took less CPU than gzip 6 and gave a
// smaller page; brotli's default quality (11) costs about 50 times more (docs/components.md).
import zlib from 'node:zlib';
import { Transform, type TransformCallback } from 'node:stream';

export type Coding = 'gzip' | 'deflate' | 'br';

/**
 * The codings of a `Content-Encoding` header in the order they were applied, or the one plangate
 * cannot decode (zstd, compress, anything unknown). `identity` and an empty header mean none.
 */
export function contentCodings(header: string | undefined): { ok: true; codings: Coding[] } | { ok: false; coding: string } {
  const codings: Coding[] = [];
  for (const token of (header ?? '').split(',')) {
    const coding = token.trim().toLowerCase();
    if (coding === '' || coding === 'identity') continue;
    if (coding === 'gzip' || coding === 'x-gzip') codings.push('gzip');
    else if (coding === 'deflate' || coding === 'br') codings.push(coding);
    else return { ok: false, coding };
  }
  return { ok: true, codings };
}

/** The decoders for `codings` (as `contentCodings` gives them), to pipe through in order: the last applied first. */
export function decoders(codings: readonly Coding[]): Transform[] {
  return [...codings].reverse().map((coding) => (coding === 'gzip' ? zlib.createGunzip() : coding === 'br' ? zlib.createBrotliDecompress() : new Inflate()));
}

/**
 * `deflate` as servers send it: the zlib format the RFC names, or raw deflate data as some servers
 * (and old IIS) send; the first two bytes tell which.
 */
class Inflate extends Transform {
  private inner: zlib.Inflate | zlib.InflateRaw | undefined;
  private first: Buffer | undefined;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.inner === undefined) {
      const start = this.first === undefined ? chunk : Buffer.concat([this.first, chunk]);
      if (start.length < 2) {
        this.first = start;
        return callback();
      }
      this.first = undefined;
      // A zlib header: compression method 8 in the low nibble and the two bytes a multiple of 31.
      const zlibHeader = (start[0] & 0x0f) === 8 && ((start[0] << 8) | start[1]) % 31 === 0;
      this.inner = zlibHeader ? zlib.createInflate() : zlib.createInflateRaw();
      this.inner.on('data', (data: Buffer) => this.push(data));
      this.inner.on('error', (error) => this.destroy(error));
      chunk = start;
    }
    if (this.inner.write(chunk)) callback();
    else this.inner.once('drain', () => callback());
  }

  override _flush(callback: TransformCallback): void {
    if (this.inner === undefined) {
      if (this.first === undefined) return callback();
      this.inner = zlib.createInflateRaw();
      this.inner.on('data', (data: Buffer) => this.push(data));
      this.inner.write(this.first);
    }
    this.inner.once('error', callback);
    this.inner.once('end', () => callback());
    this.inner.end();
  }
}

/**
 * How to encode a transformed page for a client, from its `Accept-Encoding`: brotli when it accepts
 * it at least as much as gzip, else gzip, else identity (`undefined`). A q-value of 0 refuses a
 * coding; `*` stands for codings not named.
 */
export function responseCoding(acceptEncoding: string | undefined): 'br' | 'gzip' | undefined {
  const quality = new Map<string, number>();
  for (const part of (acceptEncoding ?? '').split(',')) {
    const [name, ...params] = part.trim().toLowerCase().split(';');
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    const value = q === undefined ? 1 : Number(q.slice(2));
    quality.set(name === 'x-gzip' ? 'gzip' : name.trim(), Number.isNaN(value) ? 0 : value);
  }
  const of = (coding: string) => quality.get(coding) ?? quality.get('*') ?? 0;
  const br = of('br');
  const gzip = of('gzip');
  if (br > 0 && br >= gzip) return 'br';
  return gzip > 0 ? 'gzip' : undefined;
}

/**
 * The encoder for a transformed page, flushed at every write so a page the upstream streams keeps
 * streaming: brotli at quality 5, gzip at level 6 (docs/components.md has the measurement).
 */
export function responseEncoder(coding: 'br' | 'gzip'): zlib.BrotliCompress | zlib.Gzip {
  return coding === 'br'
    ? zlib.createBrotliCompress({ flush: zlib.constants.BROTLI_OPERATION_FLUSH, params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 5 } })
    : zlib.createGzip({ level: 6, flush: zlib.constants.Z_SYNC_FLUSH });
}

/**
 * The `Accept-Encoding` to forward when the gateway must be able to transform the response (a soft
 * paywall): the client's, limited to what plangate decodes; `identity` when none of those is left.
 */
export function decodableAcceptEncoding(acceptEncoding: string | undefined): string {
  const kept = (acceptEncoding ?? '')
    .split(',')
    .map((part) => part.trim())
    .filter((part) => {
      const name = part.split(';')[0].trim().toLowerCase();
      return name === 'gzip' || name === 'x-gzip' || name === 'deflate' || name === 'br' || name === 'identity';
    });
  return kept.length > 0 ? kept.join(', ') : 'identity';
}
