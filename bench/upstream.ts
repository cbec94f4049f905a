// The upstream site of every benchmark: node:http answering every request with the same ~2 KB HTML
// page, built once. Runs as its own process (port in BENCH_PORT); the `direct` candidate measures it alone.
import http from 'node:http';

const paragraph =
  '<p>Plangate benchmark article. This paragraph stands in for the body of a news story, long enough ' +
  'that the page weighs what a small real page does once compressed, and the same on every request.</p>\n';
const PAGE = Buffer.from(
  '<!doctype html>\n<html lang="en">\n<head><meta charset="utf-8"><title>Benchmark article</title></head>\n<body>\n' +
    '<h1>Benchmark article</h1>\n' +
    paragraph.repeat(10) +
    '</body>\n</html>\n',
);

const port = Number(process.env.BENCH_PORT);
if (!Number.isInteger(port) || port <= 0) {
  console.error('bench/upstream.ts: set BENCH_PORT to the port to listen on');
  process.exit(2);
}

http
  .createServer((req, res) => {
    // Drain any request body so the keep-alive connection stays usable.
    req.resume();
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-length': PAGE.length });
    res.end(PAGE);
  })
  .listen(port, '127.0.0.1');

// Exit cleanly on the harness's SIGTERM, so a --cpu-prof profile gets written.
process.on('SIGTERM', () => process.exit(0));
