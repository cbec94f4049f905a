// A realistic news article page, generated deterministically: a <head> with inline CSS and JSON-LD,
// a navigation bar, an article with a byline, a figure, paragraphs with links and entities, a
// teaser marker (`.teaser-end`, the third paragraph) and an `.article-footer`, then a site footer.
// Used by the component benchmarks (bench/rewriters.ts) and the component tests, which stream a
// page of any size through the transform without holding it in memory (`articlePageChunks`).

const WORDS = (
  'the council said on tuesday that a new plan for the city centre would cut traffic by a third over five years while residents ' +
  'asked how the money would be found and whether shops on the high street could survive another round of roadworks before winter'
).split(' ');

/** The words of paragraph `n`, always the same for the same `n`. */
function sentence(n: number, length: number): string {
  const words: string[] = [];
  for (let i = 0; i < length; i++) words.push(WORDS[(n * 7 + i * 13 + ((n * i) % 5)) % WORDS.length]);
  words[0] = words[0][0].toUpperCase() + words[0].slice(1);
  return words.join(' ');
}

function paragraph(n: number): string {
  const a = sentence(n, 24);
  const b = sentence(n + 1, 18);
  const c = sentence(n + 2, 21);
  return `<p>${a}. <a href="/articles/related-${n}">${b}</a> &amp; <em>${c.slice(0, 40)}</em>${c.slice(40)}&rsquo;s view. Paragraph ${n} ends here.</p>\n`;
}

export const ARTICLE_HEAD = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>City centre plan would cut traffic by a third - The Daily Example</title>
<link rel="stylesheet" href="/static/site.css">
<style>
body{font-family:Georgia,serif;margin:0;color:#222}header.site-header{background:#111;color:#fff;padding:8px 16px}
header.site-header nav a{color:#fff;margin-right:12px;text-decoration:none}article.article-body{max-width:680px;margin:24px auto;line-height:1.6}
article.article-body h1{font-size:2.2em;line-height:1.2}.byline{color:#666;font-size:.9em}figure img{width:100%}
.article-footer{border-top:1px solid #ddd;margin-top:32px;padding-top:12px}footer.site-footer{background:#f4f4f4;padding:24px}
</style>
<script type="application/ld+json">{"@context":"https://schema.org","@type":"NewsArticle","headline":"City centre plan would cut traffic by a third","isAccessibleForFree":false,"hasPart":{"@type":"WebPageElement","isAccessibleForFree":false,"cssSelector":".paywalled"}}</script>
<script>window.dataLayer=window.dataLayer||[];function gtag(){dataLayer.push(arguments)}gtag('js',new Date());</script>
</head>
<body>
<header class="site-header"><nav>${['News', 'Politics', 'Business', 'Sport', 'Culture', 'Opinion', 'Science', 'Travel', 'Food', 'Weather'].map((s) => `<a href="/${s.toLowerCase()}/">${s}</a>`).join('')}</nav></header>
<main>
<article class="article-body paywalled" data-article-id="city-centre-plan">
<h1>City centre plan would cut traffic by a third</h1>
<p class="byline">By <a href="/authors/jo-example">Jo Example</a>, City Reporter &middot; <time datetime="2026-11-02T08:00:00Z">2 November 2026</time></p>
<figure><img src="/img/city-centre.jpg" alt="The high street at rush hour" width="1200" height="675"><figcaption>The high street at rush hour</figcaption></figure>
`;

export const ARTICLE_TAIL = `<div class="article-footer"><p>Share this article: <a href="#">Email</a> <a href="#">Copy link</a></p></div>
</article>
<aside class="related"><h2>Related</h2><ul>${[1, 2, 3, 4, 5].map((n) => `<li><a href="/articles/related-${n}">${sentence(n, 8)}</a></li>`).join('')}</ul></aside>
</main>
<footer class="site-footer"><p>&copy; 2026 The Daily Example. <a href="/privacy">Privacy</a> <a href="/terms">Terms</a></p></footer>
</body>
</html>
`;

/** Paragraph `n` (from 0) ends with this text: the teaser is paragraphs 0 to 2, the cut starts at 3. */
export function paragraphEnd(n: number): string {
  return `Paragraph ${n} ends here.`;
}

/**
 * The page in pieces of about `chunkBytes`, `totalBytes` long in all (give or take a paragraph):
 * head, two paragraphs, the teaser marker (`<p class="teaser-end">`), paragraphs until the size is
 * reached, the article footer, the site footer.
 */
export function* articlePageChunks(totalBytes = 50_000, chunkBytes = 16_384): Generator<string> {
  let pending = ARTICLE_HEAD;
  let size = ARTICLE_HEAD.length + ARTICLE_TAIL.length;
  let n = 0;
  const flushable = function* (): Generator<string> {
    while (pending.length >= chunkBytes) {
      yield pending.slice(0, chunkBytes);
      pending = pending.slice(chunkBytes);
    }
  };
  while (size < totalBytes || n < 4) {
    const p = n === 2 ? paragraph(n).replace('<p>', '<p class="teaser-end">') : paragraph(n);
    pending += p;
    size += p.length;
    n++;
    yield* flushable();
  }
  pending += ARTICLE_TAIL;
  yield* flushable();
  if (pending.length > 0) yield pending;
}

export function articlePage(totalBytes = 50_000): string {
  return [...articlePageChunks(totalBytes, Number.MAX_SAFE_INTEGER)].join('');
}
