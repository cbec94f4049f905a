// The plangate demo site: a tiny news site on node:http that knows nothing about plans or meters.
// It only reads the `x-plangate-*` headers the gateway injects and shows them, decoded, on every
// page, so you can watch the decision change as you read. Run it alone with
// `npx tsx examples/demo-site/server.ts` (127.0.0.1:3001, or HOST and PORT; Node 24 runs it without
// tsx, as examples/docker-compose.yml does), or let `npm start` run it.
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';

export const ARTICLES: Record<string, { title: string; body: string }> = {
  'city-council-budget': { title: 'City council passes the budget', body: 'After a long night, the council agreed on next year’s budget.' },
  'river-cleanup': { title: 'Volunteers clean up the river', body: 'Two hundred volunteers pulled 3 tonnes of rubbish out of the river.' },
  'new-library': { title: 'The new library opens', body: 'The library opens on Monday with 80,000 books and a maker space.' },
  'football-final': { title: 'Local club reaches the final', body: 'A late goal sent the club to its first final in 40 years.' },
  'cafe-guide': { title: 'Ten cafés worth the queue', body: 'Our critics tasted their way through the city’s coffee.' },
};

export const PREMIUM: Record<string, { title: string; body: string }> = {
  investigation: { title: 'Investigation: where the money went', body: 'A six-month investigation into the city’s contracts.' },
  'market-report': { title: 'The weekly market report', body: 'Prices, trends and what to expect next week.' },
};

const STYLE =
  'body{font-family:system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem;color:#222}' +
  'table{border-collapse:collapse;font-size:.85rem}td{border:1px solid #ddd;padding:.2rem .5rem;vertical-align:top}' +
  'pre{margin:0;white-space:pre-wrap}nav a{margin-right:1rem}';

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const HTML_SPECIAL = /[&<>"']/g;
const escape = (s: string) => s.replace(HTML_SPECIAL, (c) => ESCAPES[c]);

/** The injected headers, decoded the way the docs say (percent-encoding, base64url JSON). */
export function decodePlangateHeaders(headers: IncomingHttpHeaders, prefix = 'x-plangate-'): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, raw] of Object.entries(headers)) {
    if (!name.startsWith(prefix) || typeof raw !== 'string') continue;
    const key = name.slice(prefix.length);
    try {
      out[key] = key === 'surface-properties' || key === 'decision' ? JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) : decodeURIComponent(raw);
    } catch {
      out[key] = raw;
    }
  }
  return out;
}

function page(title: string, content: string, headers: IncomingHttpHeaders): string {
  const decoded = decodePlangateHeaders(headers);
  const rows = Object.entries(decoded)
    .map(([k, v]) => `<tr><td>x-plangate-${escape(k)}</td><td><pre>${escape(typeof v === 'string' ? v : JSON.stringify(v, null, 2))}</pre></td></tr>`)
    .join('');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escape(title)}</title><link rel="stylesheet" href="/static/style.css"></head><body>
<nav><a href="/">Home</a><a href="/premium/investigation">Premium</a></nav>
${content}
<h2>What plangate told this page</h2>
${rows === '' ? '<p>No plangate headers: this request did not come through the gateway (or the route bypasses it).</p>' : `<table>${rows}</table>`}
</body></html>`;
}

export function startDemoSite(options: { host?: string; port?: number } = {}): Promise<{ server: Server; url: string; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const send = (status: number, type: string, body: string) => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'public, max-age=60' });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    if (path === '/static/style.css') return send(200, 'text/css', STYLE);
    if (path === '/') {
      const list = (items: typeof ARTICLES, base: string) =>
        Object.entries(items)
          .map(([slug, a]) => `<li><a href="${base}/${slug}">${escape(a.title)}</a></li>`)
          .join('');
      return send(
        200,
        'text/html; charset=utf-8',
        page(
          'The Daily Demo',
          `<h1>The Daily Demo</h1><h2>Articles</h2><ul>${list(ARTICLES, '/articles')}</ul><h2>Premium</h2><ul>${list(PREMIUM, '/premium')}</ul>`,
          req.headers,
        ),
      );
    }
    // `/articles/<slug>` or `/articles/<slug>/`, nothing deeper: a site that served the article for
    // `/articles/<slug>/anything` would hand it out wherever a route guards one segment only.
    const [, section, slug, ...rest] = path.split('/');
    const exact = rest.length === 0 || (rest.length === 1 && rest[0] === '');
    const shelf = section === 'articles' ? ARTICLES : section === 'premium' ? PREMIUM : undefined;
    const article = exact && shelf !== undefined && Object.hasOwn(shelf, slug) ? shelf[slug] : undefined;
    if (article)
      return send(200, 'text/html; charset=utf-8', page(article.title, `<h1>${escape(article.title)}</h1><p>${escape(article.body)}</p>`, req.headers));
    return send(404, 'text/html; charset=utf-8', page('Not found', '<h1>Not found</h1>', req.headers));
  });
  return new Promise((resolve, reject) => {
    // A port in use (EADDRINUSE) rejects instead of crashing the process: the CLI says it in one line.
    server.once('error', reject);
    server.listen(options.port ?? 3001, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      const { port } = server.address() as AddressInfo;
      resolve({
        server,
        url: `http://${options.host ?? '127.0.0.1'}:${port}`,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const site = await startDemoSite({ host: process.env.HOST || undefined, port: Number(process.env.PORT ?? 3001) });
  process.stdout.write(`demo site on ${site.url}\n`);
}
