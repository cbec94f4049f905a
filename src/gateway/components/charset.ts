// The charset a page is in, as a browser would decide it: a byte order mark, else the charset of the
// `Content-Type` header, else a `<meta>` in the first 1,024 bytes, else windows-1252 (the HTML
// standard's encoding sniffing, done by jsdom's html-encoding-sniffer). The page's bytes are never
// re-encoded: lol-html parses any ASCII-compatible charset, and what plangate inserts is written in
// UTF-8 on a UTF-8 page and as ASCII with numeric character references on any other.
import { createRequire } from 'node:module';
import { parse as parseContentType } from 'content-type';

type Sniffer = (bytes: Uint8Array, options?: { transportLayerEncodingLabel?: string; defaultEncoding?: string }) => string;
const sniff = createRequire(import.meta.url)('html-encoding-sniffer') as Sniffer;

/** Encodings in which `<`, `>`, quotes and ASCII letters are not their ASCII bytes: lol-html cannot parse them. */
const NOT_ASCII_COMPATIBLE = new Set(['utf-16be', 'utf-16le', 'iso-2022-jp', 'replacement']);

export interface PageCharset {
  /** The WHATWG encoding name (`UTF-8`, `windows-1252`, `Shift_JIS` ...). */
  name: string;
  utf8: boolean;
  /** False for UTF-16 and ISO-2022-JP: such a page cannot be rewritten. */
  asciiCompatible: boolean;
}

/** The charset label of a `Content-Type` header, if it has a well-formed one. */
export function charsetLabel(contentType: string | undefined): string | undefined {
  if (contentType === undefined) return undefined;
  try {
    return parseContentType(contentType).parameters.charset;
  } catch {
    return undefined;
  }
}

/** From the page's first bytes (up to 1,024 are looked at) and its `Content-Type`. */
export function pageCharset(firstBytes: Uint8Array, contentType: string | undefined): PageCharset {
  const name = sniff(firstBytes.subarray(0, 1024), { transportLayerEncodingLabel: charsetLabel(contentType) });
  const lower = name.toLowerCase();
  return { name, utf8: lower === 'utf-8', asciiCompatible: !NOT_ASCII_COMPATIBLE.has(lower) };
}
