// The upstream site of every benchmark: node:http answering every request with the same ~2 KB HTML
// page, built once, and under /articles/long-* the 50 KB test article (plangate-components). Runs as
// its own process (port in BENCH_PORT); the `direct` candidate measures it alone.
import http from 'node:http';
import { articlePage } from '../test/support/article-page.js';

const paragraph =
  '<p>Plangate benchmark article. This paragraph stands in for the body of a news story, long enough ' +
  'that the page weighs what a small real page does once compressed, and the same on every request.</p>\n';
const PAGE = Buffer.from(
  '<!doctype html>\n<html lang="en">\n<head><meta charset="utf-8"><title>Benchmark article</title></head>\n<body>\n' +
    '<h1>Benchmark article</h1>\n' +
    paragraph.repeat(10) +
    '</body>\n</html>\n',
);

/** The 50 KB article the component benchmarks cut and decorate. */
export const LONG_ARTICLE_PREFIX = '/articles/long-';
const ARTICLE = Buffer.from(articlePage(50_000));

const port = Number(process.env.BENCH_PORT);
if (!Number.isInteger(port) || port <= 0) {
  console.error('bench/upstream.ts: set BENCH_PORT to the port to listen on');
  process.exit(2);
}

http
  .createServer((req, res) => {
    // Drain any request body so the keep-alive connection stays usable.
    req.resume();
    const page = req.url?.startsWith(LONG_ARTICLE_PREFIX) ? ARTICLE : PAGE;
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-length': page.length });
    res.end(page);
  })
  .listen(port, '127.0.0.1');

// Exit cleanly on the harness's SIGTERM, so a --cpu-prof profile gets written.
process.on('SIGTERM', () => process.exit(0));
