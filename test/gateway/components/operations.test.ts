// Every content operation, alone and combined on the same element, against HTML written by hand from
// the semantics in docs/components.md (lol-html's element operations, called in the edge proxies'
// order). Each case also runs in 1-byte chunks: the output must not depend on where chunks split.
import { describe, expect, it } from 'vitest';
import { component, html, runTransform, text } from './run-transform.js';

const EL = '<p class="x">Hello <b>world</b></p>';
const REST = '<img class="x" src="i.png"><br></div>';
const PAGE = `<div id="a">${EL}${REST}`;

type Case = [label: string, behaviors: Record<string, ReturnType<typeof component>>, expected: string, page?: string];

const one = (content: unknown, selector = 'p.x') => ({ c: component(selector, content) });

const cases: Case[] = [
  ['before', one({ before: [html('<i>B</i>')] }), `<div id="a"><i>B</i>${EL}${REST}`],
  ['prepend', one({ prepend: [html('<i>P</i>')] }), `<div id="a"><p class="x"><i>P</i>Hello <b>world</b></p>${REST}`],
  ['append', one({ append: [html('<i>A</i>')] }), `<div id="a"><p class="x">Hello <b>world</b><i>A</i></p>${REST}`],
  ['after', one({ after: [html('<i>F</i>')] }), `<div id="a">${EL}<i>F</i>${REST}`],
  ['before, two items in order', one({ before: [html('1'), html('2')] }), `<div id="a">12${EL}${REST}`],
  ['prepend, two items in order', one({ prepend: [html('1'), html('2')] }), `<div id="a"><p class="x">12Hello <b>world</b></p>${REST}`],
  ['append, two items in order', one({ append: [html('1'), html('2')] }), `<div id="a"><p class="x">Hello <b>world</b>12</p>${REST}`],
  ['after, two items in order', one({ after: [html('1'), html('2')] }), `<div id="a">${EL}12${REST}`],
  [
    'all four insertions on one element',
    one({ before: [html('B')], prepend: [html('P')], append: [html('A')], after: [html('F')] }),
    `<div id="a">B<p class="x">PHello <b>world</b>A</p>F${REST}`,
  ],
  ['empty lists change nothing', one({ before: [], prepend: [], append: [], after: [] }), PAGE],
  ['remove', one({ remove: true }), `<div id="a">${REST}`],
  ['remove: false changes nothing', one({ remove: false, before: [html('B')] }), `<div id="a">B${EL}${REST}`],
  [
    'remove with insertions replaces the element by before and after (prepend and append go with its content)',
    one({ remove: true, before: [html('B')], prepend: [html('P')], append: [html('A')], after: [html('F')] }),
    `<div id="a">BF${REST}`,
  ],
  ['remove with prepend only leaves nothing', one({ remove: true, prepend: [html('P')] }), `<div id="a">${REST}`],
  ['text is escaped (&, <, >)', one({ before: [text(`<b>"Tom" & 'Jerry'</b>`)] }), `<div id="a">&lt;b&gt;"Tom" &amp; 'Jerry'&lt;/b&gt;${EL}${REST}`],
  ['html is inserted raw', one({ before: [html(`<b>"Tom" & 'Jerry'</b>`)] }), `<div id="a"><b>"Tom" & 'Jerry'</b>${EL}${REST}`],
  [
    'element: custom element with version and props (only " escaped)',
    one({ after: [{ type: 'element', schema: 'mos:offer@2', props: { plan: 'premium', note: 'say "hi" & <b>' } }] }),
    `<div id="a">${EL}<mos-offer version="2" props="{&quot;plan&quot;:&quot;premium&quot;,&quot;note&quot;:&quot;say \\&quot;hi\\&quot; & <b>&quot;}"></mos-offer>${REST}`,
  ],
  [
    'element without a version',
    one({ before: [{ type: 'element', schema: 'acme:banner', props: [] }] }),
    `<div id="a"><acme-banner version="" props="[]"></acme-banner>${EL}${REST}`,
  ],
  [
    'text, html and element in one list, in order',
    one({ prepend: [text('a<'), html('<i>b</i>'), { type: 'element', schema: 'x:y@1', props: 7 }] }),
    `<div id="a"><p class="x">a&lt;<i>b</i><x-y version="1" props="7"></x-y>Hello <b>world</b></p>${REST}`,
  ],
  ['UTF-8 page: text outside ASCII inserted as it is', one({ before: [text('Café €5 😀')] }), `<div id="a">Café €5 😀${EL}${REST}`],
  [
    'void element: before and after apply, prepend and append cannot',
    one({ before: [html('B')], prepend: [html('P')], append: [html('A')], after: [html('F')] }, 'img.x'),
    `<div id="a">${EL}B<img class="x" src="i.png">F<br></div>`,
  ],
  ['void element removed', one({ remove: true }, 'img.x'), `<div id="a">${EL}<br></div>`],
  ['void element with a self-closing slash', one({ after: [html('F')] }, 'br'), `<div id="a">${EL}<img class="x" src="i.png"><br>F</div>`],
  [
    'nested matches: each gets its insertions',
    one({ before: [html('(')], prepend: [html('[')], append: [html(']')], after: [html(')')] }, '.box'),
    '(<div class="box">[1(<div class="box">[2]</div>)3]</div>)',
    '<div class="box">1<div class="box">2</div>3</div>',
  ],
  [
    'nested matches: removing the outer removes the inner',
    one({ remove: true, before: [html('B')] }, '.box'),
    'B<p>after</p>',
    '<div class="box">1<div class="box">2</div>3</div><p>after</p>',
  ],
  ['every match', one({ before: [html('B')] }), 'B<p class="x">1</p>B<p class="x">2</p>', '<p class="x">1</p><p class="x">2</p>'],
  ['child combinator and id', one({ append: [html('!')] }, 'div#a > p.x'), `<div id="a"><p class="x">Hello <b>world</b>!</p>${REST}`],
  ['tag and attribute names in any case', one({ before: [html('B')] }), 'B<P CLASS="x">1</P>', '<P CLASS="x">1</P>'],
  ['no match: the page unchanged', one({ before: [html('B')] }, '.missing'), PAGE],
  [
    'text inside <script> and <textarea> is not markup',
    one({ before: [html('B')] }, '.x'),
    '<script>if (a<b) s="<p class=x>"</script><textarea><p class="x"></textarea>',
    '<script>if (a<b) s="<p class=x>"</script><textarea><p class="x"></textarea>',
  ],
  // Two components on one element: their handlers run in the components' order, and lol-html's
  // prepend and after put each call's content in front of the previous one's.
  [
    'two components: before in order',
    { a: component('p.x', { before: [html('a')] }), b: component('p.x', { before: [html('b')] }) },
    `<div id="a">ab${EL}${REST}`,
  ],
  [
    'two components: the later prepend comes first',
    { a: component('p.x', { prepend: [html('a')] }), b: component('p.x', { prepend: [html('b')] }) },
    `<div id="a"><p class="x">baHello <b>world</b></p>${REST}`,
  ],
  [
    'two components: append in order',
    { a: component('p.x', { append: [html('a')] }), b: component('p.x', { append: [html('b')] }) },
    `<div id="a"><p class="x">Hello <b>world</b>ab</p>${REST}`,
  ],
  [
    'two components: the later after comes first',
    { a: component('p.x', { after: [html('a')] }), b: component('p.x', { after: [html('b')] }) },
    `<div id="a">${EL}ba${REST}`,
  ],
  [
    'two components: a removed element is skipped by the next',
    { a: component('p.x', { remove: true }), b: component('p.x', { before: [html('b')] }) },
    `<div id="a">${REST}`,
  ],
  [
    'two components: before, then removed by the next',
    { a: component('p.x', { before: [html('a')] }), b: component('p', { remove: true }) },
    `<div id="a">a${REST}`,
  ],
  [
    'a behaviour without content does nothing',
    { a: { metadata: { cssSelector: 'p.x' } }, b: component('p.x', { after: [html('b')] }) },
    `<div id="a">${EL}b${REST}`,
  ],
];

describe('component operations', () => {
  it.each(cases)('%s', async (_label, behaviors, expected, page = PAGE) => {
    const whole = await runTransform(page, behaviors);
    expect(whole.output).toBe(expected);
    expect(whole.ready).toEqual({ ok: true });
    const bytewise = await runTransform(page, behaviors, { chunkSize: 1 });
    expect(bytewise.output).toBe(expected);
  });

  it('the insertion type in any case, as the edge accepts it', async () => {
    expect((await runTransform(PAGE, one({ before: [{ type: 'HTML', content: '<i>B</i>' }] }))).output).toBe(`<div id="a"><i>B</i>${EL}${REST}`);
  });

  it('skips a malformed behaviour, applies the others, and says what is wrong', async () => {
    const run = await runTransform(PAGE, { bad: component('p.x', { before: 'not a list' }), good: component('p.x', { after: [html('F')] }) });
    expect(run.output).toBe(`<div id="a">${EL}F${REST}`);
    expect(run.report.problems).toEqual([{ component: 'bad', reason: 'malformed', detail: expect.stringContaining('componentBehaviors.bad.content.before') }]);
  });

  it('reports the components that changed something', async () => {
    const run = await runTransform(PAGE, { hit: component('p.x', { before: [html('B')] }), miss: component('.none', { before: [html('B')] }) });
    expect(run.report).toEqual({ charset: 'UTF-8', applied: ['hit'], problems: [], untouched: false });
  });

  it('skips a component whose selector lol-html cannot stream, applies the others, and says why', async () => {
    const run = await runTransform(PAGE, { bad: component('p:last-child', { before: [html('X')] }), good: component('p.x', { before: [html('B')] }) });
    expect(run.output).toBe(`<div id="a">B${EL}${REST}`);
    expect(run.report.problems).toEqual([{ component: 'bad', reason: 'invalid-selector', detail: expect.stringContaining(':last-child') }]);
  });
});

describe('charsets', () => {
  const page = (charset: string) => Buffer.from(`<html><head><meta charset="${charset}"></head><body><p class="x">caf\xe9</p></body></html>`, 'latin1');
  const behaviors = one({ before: [text('Café €5 😀 <')] });

  it('on a page that is not UTF-8, inserted characters outside ASCII become character references; the page bytes stay as they were', async () => {
    const run = await runTransform(page('windows-1252'), behaviors, { contentType: 'text/html' });
    expect(run.bytes.toString('latin1')).toBe(
      '<html><head><meta charset="windows-1252"></head><body>Caf&#233; &#8364;5 &#128512; &lt;<p class="x">caf\xe9</p></body></html>',
    );
    expect(run.report.charset).toBe('windows-1252');
  });

  it('the header charset wins over <meta>', async () => {
    const run = await runTransform(page('utf-8'), behaviors, { contentType: 'text/html; charset=ISO-8859-1' });
    expect(run.bytes.toString('latin1')).toContain('Caf&#233; &#8364;5');
    expect(run.report.charset).toBe('windows-1252'); // ISO-8859-1 is windows-1252 to browsers
  });

  it('<meta> names the charset when the header does not', async () => {
    const run = await runTransform(page('utf-8'), behaviors, { contentType: 'text/html' });
    expect(run.output).toContain('Café €5 😀 &lt;<p class="x">');
    expect(run.report.charset).toBe('UTF-8');
  });

  it('no charset anywhere: windows-1252 as browsers read it, so characters outside ASCII go as references', async () => {
    const run = await runTransform('<p class="x">1</p>', behaviors, { contentType: 'text/html' });
    expect(run.output).toBe('Caf&#233; &#8364;5 &#128512; &lt;<p class="x">1</p>');
  });

  it('a UTF-16 page cannot be rewritten: it goes through untouched and the report says why', async () => {
    const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('<p class="x">1</p>', 'utf16le')]);
    const run = await runTransform(utf16, behaviors, { contentType: 'text/html; charset=utf-16' });
    expect(run.bytes.equals(utf16)).toBe(true);
    expect(run.report).toMatchObject({ untouched: true, charset: 'UTF-16LE', problems: [{ reason: 'unsupported-charset' }] });
  });

  it('a page shorter than the 1,024 bytes looked at for <meta> is transformed too', async () => {
    const run = await runTransform('<p class="x">1</p>', one({ after: [html('!')] }), { chunkSize: 3 });
    expect(run.output).toBe('<p class="x">1</p>!');
  });
});
