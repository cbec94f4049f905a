// The Node ceiling: plain node:http driving http-proxy with a keep-alive agent, nothing else.
import http from 'node:http';
import httpProxy from 'http-proxy';

const agent = new http.Agent({ keepAlive: true });
const proxy = httpProxy.createProxyServer({ target: process.env.BENCH_UPSTREAM, agent });
proxy.on('error', (_err, _req, res) => {
  // An error here is a bench failure: answer 502 so wrk counts it as a bad status.
  if (res instanceof http.ServerResponse && !res.headersSent) res.writeHead(502);
  res.end();
});

http.createServer((req, res) => proxy.web(req, res)).listen(Number(process.env.BENCH_PORT), '127.0.0.1');

// Exit cleanly on the harness's SIGTERM, so a --cpu-prof profile gets written.
process.on('SIGTERM', () => process.exit(0));
