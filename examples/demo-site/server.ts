// The plangate demo site: a small news site on node:http that knows nothing about plans or meters.
// plangate, in front of it, decides who may read what, puts the meter banner on articles and cuts
// them after their teaser when the free reads are used up (config/plangate.yaml). The site only
// marks its pages up the way a paywalled site should (isAccessibleForFree structured data, a
// `.paywall` section after the `.teaser`), offers a sign-in page that mints the demo JWT with the
// local development key, a plans page, and shows the `x-plangate-*` headers it received at the
// bottom of every page. Run it alone with `npx tsx examples/demo-site/server.ts` (port 3001, or
// PORT), or let `npm start` run it.
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { mintTestToken } from '../../src/cli/keys.js';

export interface Story {
  title: string;
  byline: string;
  /** The free teaser: the first paragraphs, which every reader gets. */
  teaser: string[];
  /** The rest: what the paywall keeps for readers with access. */
  rest: string[];
}

const story = (title: string, byline: string, paragraphs: string[]): Story => ({ title, byline, teaser: paragraphs.slice(0, 2), rest: paragraphs.slice(2) });

export const ARTICLES: Record<string, Story> = {
  'city-council-budget': story('City council passes the budget', 'By Ana Lopez, City Hall', [
    'After a long night, the council agreed on next year’s budget, two weeks before the legal deadline.',
    'The vote was 7 to 4. The mayor called it “a budget for the neighbourhoods”; the opposition called it a budget for the next election.',
    'The largest change is in transport: the bus network gets four new night lines and the tram extension to the hospital is funded at last.',
    'Libraries and pools keep their opening hours, which had been threatened in the first draft published in September.',
    'Property tax rises by 1.5 %, below inflation. The council says the difference is covered by the sale of two office buildings.',
    'The budget will be published in full on the city’s website on Friday, with a line-by-line comparison with this year’s.',
  ]),
  'river-cleanup': story('Volunteers clean up the river', 'By Sam Okafor, Environment', [
    'Two hundred volunteers pulled 3 tonnes of rubbish out of the river on Saturday, the largest clean-up since the club started in 2019.',
    'Shopping trolleys, a motorbike and more than 400 tyres came out of the water between the old mill and the railway bridge.',
    'The club’s divers found that the worst spots are downstream of the two storm drains, where the current slows down.',
    'The water company says it will put screens on both drains next spring, a promise the club has heard twice before.',
    'Fish counts are up for the third year in a row: the river now has trout as far as the town centre.',
    'The next clean-up is in April. Gloves, grabbers and soup are provided; waders are not.',
  ]),
  'new-library': story('The new library opens', 'By Mei Chen, Culture', [
    'The library opens on Monday with 80,000 books, a maker space and a roof garden that is open until ten at night.',
    'The building, on the site of the old bus depot, took three years and came in 4 % under budget.',
    'The maker space has 3D printers, a laser cutter and sewing machines; booking opens on the library’s website on Sunday.',
    'The children’s floor has a reading tent designed by pupils of the two nearest primary schools.',
    'The old library on Market Street closes for good on Saturday. Its mural moves with it, panel by panel.',
    'Opening day starts at nine with a reading by the city’s poet laureate and free coffee until the urns run dry.',
  ]),
  'football-final': story('Local club reaches the final', 'By Tom Reyes, Sport', [
    'A late goal sent the club to its first final in 40 years, and half the town onto the pitch.',
    'The winner came in the 89th minute, a header from the captain after a corner that the keeper should have claimed.',
    'Tickets for the final go on sale on Thursday; the club expects to sell its allocation of 12,000 within the hour.',
    'The council will show the match on a big screen in the main square, the first time since the 1986 semi-final.',
    'The manager, in his first season, said the team’s fitness was the difference: “We were still running when they were walking.”',
    'The final is on the 24th at the national stadium. Kick-off is at three.',
  ]),
  'cafe-guide': story('Ten cafés worth the queue', 'By Lena Fischer, Food', [
    'Our critics tasted their way through the city’s coffee, from the station kiosks to the roasters in the old warehouses.',
    'The best espresso is at a four-seat counter behind the fish market, where the owner roasts twice a week.',
    'For pastries, the bakery on Canal Street wins again: its cardamom buns sell out before ten.',
    'The quietest café with good Wi-Fi is on the top floor of the new library, which opens on Monday.',
    'Prices for a flat white range from 2.40 to 4.80; the most expensive was not the best.',
    'The full list, with opening hours and a map, is below the fold.',
  ]),
  'night-buses': story('Night buses return to the suburbs', 'By Ana Lopez, City Hall', [
    'Four night bus lines come back in January, eight years after they were cut, the council confirmed on Tuesday.',
    'The lines run every 30 minutes from midnight to five, from the central station to the four largest suburbs.',
    'Hospital staff and hospitality workers campaigned for the return; a petition gathered 14,000 signatures.',
    'Fares are the same as during the day, and the monthly pass is valid on all night lines.',
    'The buses are electric, charged at the new depot during the day when they are not in service.',
    'A trial of on-demand minibuses for the villages beyond the ring road starts in the summer.',
  ]),
};

export const PREMIUM: Record<string, Story> = {
  investigation: story('Investigation: where the money went', 'By the investigations team', [
    'A six-month investigation into the city’s contracts, built on 3,000 invoices obtained under freedom-of-information law.',
    'Three companies owned by the same two people won 40 % of the road maintenance contracts over five years.',
    'In eleven cases, the winning bid arrived after the deadline; in four, the losing bids were never opened.',
    'The city’s auditor has opened an inquiry. The companies did not answer our questions.',
  ]),
  'market-report': story('The weekly market report', 'By Priya Nair, Business', [
    'Prices, trends and what to expect next week, from the wholesale market and the port.',
    'Vegetable prices fell for the third week, led by leeks and cabbages after a mild autumn.',
    'Fuel at the port is up 4 %, which the hauliers say will show on shelves before Christmas.',
    'Next week: the first citrus of the season and the annual cheese auction.',
  ]),
};

const STYLE = `
body{font-family:Georgia,'Times New Roman',serif;margin:0;color:#1d1d1f;background:#fff}
header.masthead{border-bottom:3px double #1d1d1f;padding:1rem 1.5rem .5rem;display:flex;align-items:baseline;gap:2rem;flex-wrap:wrap}
header.masthead .name{font-size:1.8rem;font-weight:bold;letter-spacing:.02em;color:inherit;text-decoration:none}
header.masthead nav a{font-family:system-ui,sans-serif;font-size:.9rem;margin-right:1rem;color:#1d1d1f}
main{max-width:44rem;margin:1.5rem auto;padding:0 1.25rem;line-height:1.6}
.byline{font-family:system-ui,sans-serif;color:#666;font-size:.85rem}
.story h1{font-size:2rem;line-height:1.2;margin-bottom:.3rem}
.article-footer{border-top:1px solid #ddd;margin-top:2rem;padding-top:.5rem;font-family:system-ui,sans-serif;font-size:.85rem;color:#666}
.meter-banner{font-family:system-ui,sans-serif;background:#fff8e1;border:1px solid #f0c36d;border-radius:.4rem;padding:.6rem 1rem;margin-bottom:1rem}
.offer-box{font-family:system-ui,sans-serif;border:2px solid #1a56db;border-radius:.6rem;padding:1rem 1.5rem;margin:1.5rem 0;background:#f5f8ff}
.offer-box h2{margin-top:0}
a.button,button{display:inline-block;background:#1a56db;color:#fff;border:0;padding:.55rem 1.1rem;border-radius:.3rem;text-decoration:none;font:inherit;cursor:pointer}
.plans{display:grid;grid-template-columns:repeat(auto-fit,minmax(12rem,1fr));gap:1rem;font-family:system-ui,sans-serif}
.plan{border:1px solid #ddd;border-radius:.5rem;padding:1rem}
form label{display:block;margin:.75rem 0;font-family:system-ui,sans-serif}
input[type=email]{font:inherit;padding:.4rem;width:100%;max-width:20rem}
ul.stories li{margin:.4rem 0}.tag{font-family:system-ui,sans-serif;font-size:.75rem;background:#1d1d1f;color:#fff;border-radius:.2rem;padding:0 .3rem;margin-left:.4rem}
details.plangate{font-family:system-ui,sans-serif;font-size:.8rem;margin-top:3rem;color:#444}
details.plangate table{border-collapse:collapse}details.plangate td{border:1px solid #ddd;padding:.2rem .5rem;vertical-align:top}
pre{margin:0;white-space:pre-wrap}
`;

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

/** A local path to return to after signing in: `/...`, never `//host` or `/\host`. */
function localPath(value: unknown): string {
  return typeof value === 'string' && value.startsWith('/') && !value.startsWith('//') && !value.startsWith('/\\') ? value : '/';
}

/** JSON for a <script> element: `<` escaped so the text can never close the element. */
const scriptJson = (value: unknown) => JSON.stringify(value).replace(/</g, '\\u003c');

/** Google's markup for paywalled content: the article is not free, and `.paywall` is the part that is not. */
function articleStructuredData(item: Story): string {
  return scriptJson({
    '@context': 'https://schema.org',
    '@type': 'NewsArticle',
    headline: item.title,
    author: { '@type': 'Person', name: item.byline.replace(/^By /, '') },
    isAccessibleForFree: false,
    hasPart: { '@type': 'WebPageElement', isAccessibleForFree: false, cssSelector: '.paywall' },
  });
}

interface PageParts {
  title: string;
  content: string;
  headers: IncomingHttpHeaders;
  head?: string;
}

function page({ title, content, headers, head = '' }: PageParts): string {
  const decoded = decodePlangateHeaders(headers);
  const rows = Object.entries(decoded)
    .map(([k, v]) => `<tr><td>x-plangate-${escape(k)}</td><td><pre>${escape(typeof v === 'string' ? v : JSON.stringify(v, null, 2))}</pre></td></tr>`)
    .join('');
  const signedIn = decoded.authenticated === 'true';
  const account = signedIn ? `<a href="/signout">Sign out (${escape(String(decoded.id ?? ''))})</a>` : '<a href="/signin">Sign in</a>';
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${escape(title)} - The Daily Demo</title><link rel="stylesheet" href="/static/style.css">${head}</head><body>
<header class="masthead"><a class="name" href="/">The Daily Demo</a><nav><a href="/">News</a><a href="/premium/investigation">Premium</a><a href="/plans">Plans</a>${account}</nav></header>
<main>
${content}
<details class="plangate"><summary>What plangate told this page</summary>
${rows === '' ? '<p>No plangate headers: this request did not come through the gateway (or the route bypasses it).</p>' : `<table>${rows}</table>`}
</details>
</main>
</body></html>`;
}

function articleBody(section: string, slug: string, item: Story): string {
  const paragraphs = (list: string[]) => list.map((p) => `<p>${escape(p)}</p>`).join('\n');
  return `<article class="story" data-slug="${escape(`${section}/${slug}`)}">
<h1>${escape(item.title)}</h1>
<p class="byline">${escape(item.byline)}</p>
<div class="teaser">
${paragraphs(item.teaser)}
</div>
<div class="paywall">
${paragraphs(item.rest)}
</div>
<footer class="article-footer">Filed in ${section === 'premium' ? 'Premium' : 'News'} · <a href="/">More stories</a></footer>
</article>`;
}

function home(headers: IncomingHttpHeaders): string {
  const list = (items: Record<string, Story>, base: string, tag = '') =>
    Object.entries(items)
      .map(([slug, a]) => `<li><a href="${base}/${slug}">${escape(a.title)}</a>${tag}<br><span class="byline">${escape(a.teaser[0])}</span></li>`)
      .join('');
  return page({
    title: 'News',
    headers,
    content: `<h1>Today</h1><ul class="stories">${list(ARTICLES, '/articles')}</ul><h2>Premium</h2><ul class="stories">${list(PREMIUM, '/premium', '<span class="tag">Premium</span>')}</ul>`,
  });
}

function plans(headers: IncomingHttpHeaders, returnTo: string): string {
  const back = encodeURIComponent(returnTo);
  return page({
    title: 'Plans',
    headers,
    content: `<h1>Plans</h1>
<div class="plans">
<div class="plan"><h2>Anonymous</h2><p>3 free articles a month. Re-reading one is free.</p></div>
<div class="plan"><h2>Registered</h2><p>10 free articles a month, with a free account.</p><a class="button" href="/signin?return=${back}">Sign in</a></div>
<div class="plan"><h2>Premium</h2><p>Every article and the Premium section.</p><a class="button" href="/signin?premium=1&amp;return=${back}">Go premium</a></div>
</div>
<p class="byline">This is a demo: signing in asks for an email address only, and “premium” is a box to tick.</p>`,
  });
}

function signinForm(headers: IncomingHttpHeaders, returnTo: string, premium: boolean, problem = ''): string {
  return page({
    title: 'Sign in',
    headers,
    content: `<h1>Sign in</h1>
${problem === '' ? '' : `<p role="alert">${escape(problem)}</p>`}
<form method="post" action="/signin">
<input type="hidden" name="return" value="${escape(returnTo)}">
<label>Email <input type="email" name="email" required maxlength="200" autocomplete="email"></label>
<label><input type="checkbox" name="premium" value="1"${premium ? ' checked' : ''}> Premium subscriber</label>
<button type="submit">Sign in</button>
</form>
<p class="byline">The demo site signs a token for you with the local development key (.plangate/keys) and keeps it in the <code>plangate_jwt</code> cookie, which plangate verifies.</p>`,
  });
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > 16_384) throw new Error('form too large');
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

export interface DemoSiteOptions {
  host?: string;
  port?: number;
  /** The private key the sign-in page signs tokens with (`npm start` passes .plangate/keys/test-jwt.pem); without it, sign-in is unavailable. */
  privateKeyFile?: string;
}

const SESSION_DAYS = 30;

export function startDemoSite(options: DemoSiteOptions = {}): Promise<{ server: Server; url: string; close(): Promise<void> }> {
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://demo.invalid');
    const path = url.pathname;
    const send = (status: number, type: string, body: string, extra: Record<string, string | string[]> = {}) => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'public, max-age=60', ...extra });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    const html = 'text/html; charset=utf-8';
    const noStore = { 'cache-control': 'private, no-store' };
    if (path === '/static/style.css') return send(200, 'text/css', STYLE);
    if (path === '/') return send(200, html, home(req.headers));
    if (path === '/plans') return send(200, html, plans(req.headers, localPath(url.searchParams.get('return'))), noStore);
    if (path === '/signout')
      return send(303, html, '', { location: '/', 'set-cookie': 'plangate_jwt=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax', ...noStore });
    if (path === '/signin' && req.method === 'POST') {
      const form = await readForm(req);
      const email = (form.get('email') ?? '').trim();
      const returnTo = localPath(form.get('return'));
      if (email === '' || email.length > 200 || !email.includes('@'))
        return send(400, html, signinForm(req.headers, returnTo, form.has('premium'), 'Enter an email address.'), noStore);
      if (options.privateKeyFile === undefined)
        return send(503, html, signinForm(req.headers, returnTo, false, 'Sign-in needs the demo key: run npm start.'), noStore);
      const token = await mintTestToken({ privateKeyFile: options.privateKeyFile, email, premium: form.has('premium'), expiresIn: `${SESSION_DAYS}d` });
      const cookie = `plangate_jwt=${token}; Path=/; Max-Age=${SESSION_DAYS * 86_400}; HttpOnly; SameSite=Lax`;
      return send(303, html, '', { location: returnTo, 'set-cookie': cookie, ...noStore });
    }
    if (path === '/signin')
      return send(200, html, signinForm(req.headers, localPath(url.searchParams.get('return')), url.searchParams.has('premium')), noStore);
    // `/articles/<slug>` or `/articles/<slug>/`, nothing deeper: a site that served the article for
    // `/articles/<slug>/anything` would hand it out wherever a route guards one segment only.
    const [, section, slug, ...rest] = path.split('/');
    const exact = rest.length === 0 || (rest.length === 1 && rest[0] === '');
    const shelf = section === 'articles' ? ARTICLES : section === 'premium' ? PREMIUM : undefined;
    const item = exact && shelf !== undefined && Object.hasOwn(shelf, slug) ? shelf[slug] : undefined;
    if (item) {
      const head = `<script type="application/ld+json">${articleStructuredData(item)}</script>`;
      return send(200, html, page({ title: item.title, content: articleBody(section, slug, item), headers: req.headers, head }));
    }
    return send(404, html, page({ title: 'Not found', content: '<h1>Not found</h1>', headers: req.headers }));
  };
  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(400, { 'content-type': 'text/plain' });
      res.end('Bad request');
    });
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
  const site = await startDemoSite({ port: Number(process.env.PORT ?? 3001) });
  process.stdout.write(`demo site on ${site.url}\n`);
}
