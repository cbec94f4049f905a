// `replaceRange` while the page streams, against HTML written by hand from the semantics in
// docs/components.md: the markers stay, what lies between them goes (elements, text, comments),
// elements that enclose the toMarker stay, the replacement goes right after the fromMarker. Then the
// soft-paywall mode (`requireCuts`): nothing is sent until every cut has begun, and a page that cannot
// be cut sends nothing at all.
import { describe, expect, it } from 'vitest';
import { component, html, runTransform, text } from './run-transform.js';

const page = (inner: string) => `<main><h1>Title</h1><article class="story">${inner}</article><p>outside</p></main>`;
const OFFER = '<O></O>';
const range = (replaceRange: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({ cut: component('article.story', { ...extra, replaceRange }) });
const fromTo = { fromMarker: '.f', toMarker: '.t', replaceWith: [html(OFFER)] };

type Case = [label: string, behaviors: ReturnType<typeof range>, inner: string, expected: string];

const cases: Case[] = [
  [
    'between the markers, elements, text and comments go; both markers stay',
    range(fromTo),
    '<p>t1</p><p class="f">t2</p><p>c1</p><!-- note --><p>c2 <b>b</b></p> loose text <div class="t">end</div><p>a1</p>',
    `<p>t1</p><p class="f">t2</p>${OFFER}<div class="t">end</div><p>a1</p>`,
  ],
  [
    'no toMarker: cut to the end of the element',
    range({ fromMarker: '.f', replaceWith: [html(OFFER)] }),
    '<p>t1</p><p class="f">t2</p><p>c1</p><div class="t">end</div>',
    `<p>t1</p><p class="f">t2</p>${OFFER}`,
  ],
  [
    'no fromMarker: cut from the start of the element',
    range({ toMarker: '.t', replaceWith: [html(OFFER)] }),
    '<p>t1</p><div class="t">end</div><p>a1</p>',
    `${OFFER}<div class="t">end</div><p>a1</p>`,
  ],
  ['no markers: everything inside goes', range({ replaceWith: [html(OFFER)] }), '<p>t1</p>text<p>t2</p>', OFFER],
  [
    'an element enclosing the toMarker stays (its start tag rebuilt, attributes double-quoted)',
    range(fromTo),
    `<p class="f">t</p><p>c1</p><section id="s" data-x='a"b' hidden><p>c2</p>cut text<div class="t">end</div> tail</section><p>a</p>`,
    `<p class="f">t</p>${OFFER}<section id="s" data-x="a&quot;b" hidden=""><div class="t">end</div> tail</section><p>a</p>`,
  ],
  [
    'elements enclosing the toMarker two levels deep stay; closed ones before it go',
    range(fromTo),
    '<p class="f">t</p><div class="w"><p>c</p><section><aside>c</aside><div class="t">x</div></section>y</div>z',
    `<p class="f">t</p>${OFFER}<div class="w"><section><div class="t">x</div></section>y</div>z`,
  ],
  [
    'a fromMarker inside another element: the rest of that element goes, its end tag stays',
    range(fromTo),
    '<div class="w"><p class="f">t</p>cut text<p>cut</p></div><p>cut</p><div class="t">x</div>',
    `<div class="w"><p class="f">t</p>${OFFER}</div><div class="t">x</div>`,
  ],
  [
    'a toMarker before the fromMarker does not count',
    range(fromTo),
    '<div class="t">early</div><p class="f">f</p><p>c</p><div class="t">late</div>',
    `<div class="t">early</div><p class="f">f</p>${OFFER}<div class="t">late</div>`,
  ],
  [
    'only the first fromMarker counts',
    range({ fromMarker: '.f', replaceWith: [html(OFFER)] }),
    '<p class="f">1<span class="f">2</span></p><p class="f">3</p>',
    `<p class="f">1<span class="f">2</span></p>${OFFER}`,
  ],
  [
    'a void fromMarker: the cut starts right after it',
    range({ fromMarker: 'hr.f', replaceWith: [html(OFFER)] }),
    '<p>t</p><hr class="f"><p>c</p>',
    `<p>t</p><hr class="f">${OFFER}`,
  ],
  [
    'scripts and styles between the markers go',
    range({ fromMarker: '.f', replaceWith: [html(OFFER)] }),
    '<p class="f">t</p><script>var s = "cut"</script><style>.c{}</style>',
    `<p class="f">t</p>${OFFER}`,
  ],
  [
    'the replacement: text escaped, elements rendered',
    range({ fromMarker: '.f', replaceWith: [text('<3'), { type: 'element', schema: 'mos:offer@1', props: {} }] }),
    '<p class="f">t</p><p>c</p>',
    '<p class="f">t</p>&lt;3<mos-offer version="1" props="{}"></mos-offer>',
  ],
  ['no replacement: only the cut', range({ fromMarker: '.f' }), '<p class="f">t</p><p>c</p>', '<p class="f">t</p>'],
  [
    "with the component's own prepend and append on the element: the replacement is prepended after them, so it comes first",
    range({ replaceWith: [html(OFFER)] }, { prepend: [html('P')], append: [html('A')] }),
    '<p>c</p>',
    `${OFFER}PA`,
  ],
  [
    'markers with a selector list: scoped member by member',
    range({ fromMarker: '.f, .g', toMarker: '.t', replaceWith: [html(OFFER)] }),
    '<p class="g">t</p><p>c</p><div class="t">x</div>',
    `<p class="g">t</p>${OFFER}<div class="t">x</div>`,
  ],
];

describe('replaceRange', () => {
  it.each(cases)('%s', async (_label, behaviors, inner, expected) => {
    const run = await runTransform(page(inner), behaviors);
    expect(run.output).toBe(page(expected));
    expect(run.report.problems).toEqual([]);
  });

  it.each(cases.slice(0, 7))('same output whatever the chunk size, markers split across chunks: %s', async (_label, behaviors, inner, expected) => {
    for (let size = 1; size <= 17; size++) expect((await runTransform(page(inner), behaviors, { chunkSize: size })).output).toBe(page(expected));
  });

  it('every element the selector matches is cut on its own', async () => {
    const two = '<article class="story"><p class="f">1</p><p>c</p></article><article class="story"><p class="f">2</p><p>c</p></article>';
    const run = await runTransform(two, range(fromTo));
    expect(run.output).toBe(`<article class="story"><p class="f">1</p>${OFFER}</article><article class="story"><p class="f">2</p>${OFFER}</article>`);
  });

  it('a match inside a match is content of the outer one, cut or not', async () => {
    const cutInside = await runTransform(page('<p class="f">t</p><article class="story"><p class="f">inner</p><p>c</p></article><p>c</p>'), range(fromTo));
    expect(cutInside.output).toBe(page(`<p class="f">t</p>${OFFER}`));
    const before = await runTransform(page('<article class="story"><p>x</p></article><p class="f">t</p><p>c</p>'), range(fromTo));
    expect(before.output).toBe(page(`<article class="story"><p>x</p></article><p class="f">t</p>${OFFER}`));
  });

  it("a fromMarker without its own end tag runs, to lol-html, to its parent's end: kept as on the edge, and reported", async () => {
    const inner = '<div class="w"><p class="f">teaser<p>inside the marker</div><p>cut</p>';
    const run = await runTransform(page(inner), range({ fromMarker: 'p.f', replaceWith: [html(OFFER)] }));
    expect(run.output).toBe(page(`<div class="w"><p class="f">teaser<p>inside the marker</div>${OFFER}`));
    expect(run.report.problems).toEqual([{ component: 'cut', reason: 'marker-unclosed', detail: expect.stringContaining('</div>') }]);
  });

  it('identical markers: the range is skipped, as on the edge, and reported', async () => {
    const inner = '<p class="f">t</p><p>c</p>';
    const run = await runTransform(page(inner), range({ fromMarker: '.f', toMarker: '.f', replaceWith: [html(OFFER)] }));
    expect(run.output).toBe(page(inner));
    expect(run.report.problems).toEqual([{ component: 'cut', reason: 'markers-identical', detail: expect.any(String) }]);
  });

  it('past pendingTagLimitBytes of elements open after the fromMarker, the toMarker is no longer looked for: cut to the end', async () => {
    const inner = '<p class="f">t</p><div class="a1"><div class="a2"><div class="a3"><div class="t">x</div></div></div></div><p>after</p>';
    const run = await runTransform(page(inner), range(fromTo), { pendingTagLimitBytes: 40 });
    expect(run.output).toBe(page(`<p class="f">t</p>${OFFER}`));
    expect(run.report.problems).toEqual([{ component: 'cut', reason: 'tag-limit', detail: expect.stringContaining('pendingTagLimitBytes') }]);
    // Within the limit, the same page keeps its toMarker and the elements around it.
    expect((await runTransform(page(inner), range(fromTo), { pendingTagLimitBytes: 60 })).output).toBe(
      page(`<p class="f">t</p>${OFFER}<div class="a1"><div class="a2"><div class="a3"><div class="t">x</div></div></div></div><p>after</p>`),
    );
  });
});

describe('replaceRange on a soft paywall (requireCuts)', () => {
  const secret = (n: number) => `<p>secret ${n}</p>`;
  const strict = { requireCuts: true } as const;

  it('sends the cut page, and nothing before ready settles', async () => {
    for (const chunkSize of [undefined, 1, 7]) {
      const run = await runTransform(page(`<p>t</p><p class="f">t</p>${secret(1)}<div class="t">end</div>`), range(fromTo), { ...strict, chunkSize });
      expect(run.ready).toEqual({ ok: true });
      expect(run.bytesBeforeReady).toBe(0);
      expect(run.output).toBe(page(`<p>t</p><p class="f">t</p>${OFFER}<div class="t">end</div>`));
    }
  });

  it.each([
    ['a missing fromMarker', range(fromTo), page(`<p>t</p>${secret(1)}`), 'marker-missing'],
    ['no element matching the selector', range(fromTo), `<main><p class="f">t</p>${secret(1)}</main>`, 'no-match'],
    ['a fromMarker past holdLimitBytes', range(fromTo), page(`${'<p>teaser</p>'.repeat(40)}<p class="f">t</p>${secret(1)}`), 'hold-limit'],
    ['identical markers', range({ fromMarker: '.f', toMarker: '.f' }), page(`<p class="f">t</p>${secret(1)}`), 'markers-identical'],
    ['a marker lol-html cannot stream', range({ fromMarker: 'p:last-child' }), page(`<p class="f">t</p>${secret(1)}`), 'invalid-selector'],
    ['a removed element that is not there', { gone: component('.premium', { remove: true }) }, page(`<p class="f">t</p>${secret(1)}`), 'no-match'],
    ['a malformed cutting behaviour', { gone: component('.premium', { remove: 'yes' }) }, page(`<p class="f">t</p>${secret(1)}`), 'malformed'],
    ['a fromMarker without its own end tag', range(fromTo), page(`<div><p class="f">t${secret(1)}</div><p>c</p>`), 'marker-unclosed'],
    ['a fromMarker still open when the element ends', range(fromTo), page(`<p class="f">t${secret(1)}`), 'marker-unclosed'],
  ])('%s: ready says why and not one byte is sent', async (_label, behaviors, input, reason) => {
    for (const chunkSize of [undefined, 1]) {
      const run = await runTransform(input, behaviors, { ...strict, holdLimitBytes: 300, chunkSize });
      expect(run.ready).toMatchObject({ ok: false, reason });
      expect(run.output).toBe('');
      expect(run.report.problems[0]).toMatchObject({ reason });
    }
  });

  it('a page in a charset lol-html cannot parse sends nothing', async () => {
    const utf16 = Buffer.from(page(`<p class="f">t</p>${secret(1)}`), 'utf16le');
    const run = await runTransform(utf16, range(fromTo), { ...strict, contentType: 'text/html; charset=utf-16le' });
    expect(run.ready).toMatchObject({ ok: false, reason: 'unsupported-charset' });
    expect(run.bytes.length).toBe(0);
  });

  it('a later element without its fromMarker fails the stream; its text is never sent', async () => {
    const input = `<article class="story"><p class="f">1</p>${secret(1)}</article><p>between</p><article class="story"><p>teaser 2</p>${secret(2)}</article><p>end</p>`;
    for (const chunkSize of [undefined, 1]) {
      const run = await runTransform(input, range(fromTo), { ...strict, chunkSize });
      expect(run.ready).toEqual({ ok: true });
      expect(run.error?.code).toBe('ERR_COMPONENT_CUT');
      expect(run.output).toBe(`<article class="story"><p class="f">1</p>${OFFER}</article><p>between</p>`);
      expect(run.report.problems[0]).toMatchObject({ reason: 'marker-missing', component: 'cut' });
    }
  });

  it('a removing component: what comes before the removed element is held until it is removed', async () => {
    const run = await runTransform(
      page(`<p>t</p><div class="premium">${secret(1)}</div><p>after</p>`),
      { gone: component('.premium', { remove: true }) },
      { ...strict, chunkSize: 1 },
    );
    expect(run.ready).toEqual({ ok: true });
    expect(run.bytesBeforeReady).toBe(0);
    expect(run.output).toBe(page('<p>t</p><p>after</p>'));
  });

  it('components that cut nothing do not hold the page', async () => {
    const run = await runTransform(page('<p>t</p>'), { banner: component('main', { prepend: [html('B')] }) }, { ...strict, chunkSize: 5 });
    expect(run.ready).toEqual({ ok: true });
    expect(run.output).toBe(page('<p>t</p>').replace('<main>', '<main>B'));
  });
});

// replaceRange combined with the other operations, on the same element and on an enclosing one, each
// page written by hand and checked whole, in 1-byte chunks and on a soft paywall.
describe('replaceRange with other operations', () => {
  const inner = '<p class="f">t</p><p>c &amp; "q"</p><div class="t">x</div>';
  type Combo = [label: string, behaviors: Record<string, ReturnType<typeof component>>, expected: string];
  const combos: Combo[] = [
    [
      'before and after on the container: outside it, the cut inside',
      { cut: component('article.story', { before: [html('B')], after: [html('F')], replaceRange: fromTo }) },
      `<main><h1>Title</h1>B<article class="story"><p class="f">t</p>${OFFER}<div class="t">x</div></article>F<p>outside</p></main>`,
    ],
    [
      'remove on the container wins: nothing of it is left, before and after stay',
      { cut: component('article.story', { before: [html('B')], after: [html('F')], remove: true, replaceRange: fromTo }) },
      '<main><h1>Title</h1>BF<p>outside</p></main>',
    ],
    [
      'a banner on an enclosing element and a cut inside it',
      { banner: component('main', { prepend: [text('2 left & <counting>')] }), cut: component('article.story', { replaceRange: fromTo }) },
      `<main>2 left &amp; &lt;counting&gt;<h1>Title</h1><article class="story"><p class="f">t</p>${OFFER}<div class="t">x</div></article><p>outside</p></main>`,
    ],
    [
      'the cut and an insertion on the fromMarker itself',
      { mark: component('.f', { after: [html('M')] }), cut: component('article.story', { replaceRange: fromTo }) },
      `<main><h1>Title</h1><article class="story"><p class="f">t</p>${OFFER}M<div class="t">x</div></article><p>outside</p></main>`,
    ],
    [
      'an element removed by one component inside another component\'s kept part',
      { drop: component('h1', { remove: true }), cut: component('article.story', { replaceRange: { toMarker: '.t' } }) },
      '<main><article class="story"><div class="t">x</div></article><p>outside</p></main>',
    ],
  ];

  it.each(combos)('%s', async (_label, behaviors, expected) => {
    for (const chunkSize of [undefined, 1]) {
      const run = await runTransform(page(inner), behaviors, { chunkSize });
      expect(run.output).toBe(expected);
      const soft = await runTransform(page(inner), behaviors, { chunkSize, requireCuts: true });
      expect(soft.ready).toEqual({ ok: true });
      expect(soft.output).toBe(expected);
      expect(soft.output).not.toContain('c &amp;');
    }
  });
});
