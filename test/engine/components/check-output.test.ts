// Checking a workflow's output: what the wire format allows passes unchanged, anything else is
// reported with its key path and a message that says what was expected.
import { describe, expect, it } from 'vitest';
import { checkComponentBehavior, checkHttpBehavior, checkWorkflowOutput } from '../../../src/engine/components/check-output.js';
import { checkComponentSelector, scopedSelector, splitSelectorList } from '../../../src/engine/components/selectors.js';

const behavior = (content: unknown, cssSelector = 'article') => ({ metadata: { cssSelector }, content });

describe('checkComponentBehavior', () => {
  it.each([
    [
      'every operation',
      {
        before: [{ type: 'html', content: '<b>' }],
        prepend: [{ type: 'text', content: 'x' }],
        append: [],
        after: [{ type: 'element', schema: 'mos:offer@1', props: { a: 1 } }],
        remove: false,
      },
    ],
    [
      'a range with both markers and a replacement',
      { replaceRange: { fromMarker: 'p:nth-of-type(3)', toMarker: '.end', replaceWith: [{ type: 'html', content: '' }] } },
    ],
    ['a range without markers', { replaceRange: {} }],
    ['an element schema without a version, props of any JSON type', { before: [{ type: 'element', schema: 'acme:paywall-box', props: null }] }],
  ])('well-formed: %s', (_label, content) => {
    expect(checkComponentBehavior(behavior(content), 'componentBehaviors.c')).toEqual({ ok: true, value: behavior(content) });
  });

  it('accepts the insertion type in any case, as the edge proxies do, and hands it back in lower case', () => {
    expect(checkComponentBehavior(behavior({ before: [{ type: 'HTML', content: 'x' }] }), 'c')).toEqual({
      ok: true,
      value: behavior({ before: [{ type: 'html', content: 'x' }] }),
    });
  });

  it('keeps properties and a behavior without content', () => {
    expect(checkComponentBehavior({ metadata: { cssSelector: 'p' }, properties: { n: 1 } }, 'c')).toEqual({
      ok: true,
      value: { metadata: { cssSelector: 'p' }, properties: { n: 1 } },
    });
  });

  it.each([
    ['content that is not an object', 'x', 'componentBehaviors.c.content', 'content is an object of operations'],
    ['content that is a list', [{ type: 'html', content: 'x' }], 'componentBehaviors.c.content', 'not a list'],
    ['an insertion list that is a string', { before: 'x' }, 'componentBehaviors.c.content.before', 'a list of insertions'],
    ['an insertion that is a string', { after: ['<b>'] }, 'componentBehaviors.c.content.after[0]', 'an insertion is an object'],
    [
      'an unknown insertion type',
      { append: [{ type: 'markdown', content: '*' }] },
      'componentBehaviors.c.content.append[0].type',
      "'html', 'text' or 'element'",
    ],
    [
      'html content that is not a string',
      { prepend: [{ type: 'html', content: 5 }] },
      'componentBehaviors.c.content.prepend[0].content',
      'content as a string',
    ],
    [
      'an element schema without an id',
      { before: [{ type: 'element', schema: 'mos', props: {} }] },
      'componentBehaviors.c.content.before[0].schema',
      "'source:id@version'",
    ],
    [
      'an element schema that would break the tag',
      { before: [{ type: 'element', schema: 'mos:x><script>', props: {} }] },
      'componentBehaviors.c.content.before[0].schema',
      "'source:id@version'",
    ],
    [
      'a version that would break the attribute',
      { before: [{ type: 'element', schema: 'mos:x@1"onload="', props: {} }] },
      'componentBehaviors.c.content.before[0].schema',
      "'source:id@version'",
    ],
    ['an element without props', { before: [{ type: 'element', schema: 'mos:x@1' }] }, 'componentBehaviors.c.content.before[0].props', 'needs props'],
    ['remove that is not a boolean', { remove: 'yes' }, 'componentBehaviors.c.content.remove', 'true or false'],
    ['an unknown operation', { replace: [] }, 'componentBehaviors.c.content.replace', "unknown operation 'replace'"],
    ['a range that is a string', { replaceRange: '.f' }, 'componentBehaviors.c.content.replaceRange', 'replaceRange is an object'],
    [
      'a marker that is not a string',
      { replaceRange: { fromMarker: 3 } },
      'componentBehaviors.c.content.replaceRange.fromMarker',
      'a marker is a CSS selector',
    ],
    ['a marker lol-html cannot stream', { replaceRange: { toMarker: 'p:last-child' } }, 'componentBehaviors.c.content.replaceRange.toMarker', ':last-child'],
    [
      'a replacement that is not a list',
      { replaceRange: { replaceWith: { type: 'html', content: 'x' } } },
      'componentBehaviors.c.content.replaceRange.replaceWith',
      'a list of insertions',
    ],
    ['an unknown range key', { replaceRange: { from: '.f' } }, 'componentBehaviors.c.content.replaceRange.from', "unknown key 'from'"],
  ])('malformed: %s', (_label, content, path, message) => {
    const result = checkComponentBehavior(behavior(content), 'componentBehaviors.c');
    expect(result.ok).toBe(false);
    expect(!result.ok && result.problems).toContainEqual(expect.objectContaining({ path, message: expect.stringContaining(message) }));
  });

  it('a selector lol-html cannot stream is reported at metadata.cssSelector', () => {
    const result = checkComponentBehavior(behavior({ remove: true }, 'li + li'), 'componentBehaviors.c');
    expect(!result.ok && result.problems).toEqual([
      { path: 'componentBehaviors.c.metadata.cssSelector', message: expect.stringContaining('sibling combinators'), selector: true },
    ]);
  });

  it('reports every problem at once', () => {
    const result = checkComponentBehavior(behavior({ before: 'x', remove: 1, replaceRange: { fromMarker: '' } }), 'c');
    expect(!result.ok && result.problems.map((p) => p.path)).toEqual(['c.content.before', 'c.content.remove', 'c.content.replaceRange.fromMarker']);
  });
});

describe('checkHttpBehavior', () => {
  it.each([
    ['the replace form', { status: 402, statusText: 'Payment Required', headers: { 'content-type': 'text/html' }, cookies: ['a=1'], body: '<p>pay</p>' }],
    ['the modify form', { status: 200, addHeaders: [{ name: 'x-a', value: '1' }], removeHeaders: ['x-b'], addCookies: ['c=1; Path=/'] }],
    ['a body of null', { status: 204, body: null }],
    ['nothing at all', {}],
  ])('well-formed: %s', (_label, http) => {
    expect(checkHttpBehavior(http)).toEqual({ ok: true, value: http });
  });

  it.each([
    ['http that is a string', 'x', 'surfaceBehavior.http', 'http is an object'],
    ['a status of "abc"', { status: 'abc' }, 'surfaceBehavior.http.status', 'an integer from 200 to 599'],
    ['a status of 99', { status: 99 }, 'surfaceBehavior.http.status', 'an integer from 200 to 599'],
    ['a status of 402.5', { status: 402.5 }, 'surfaceBehavior.http.status', 'an integer from 200 to 599'],
    ['addHeaders: "x"', { addHeaders: 'x' }, 'surfaceBehavior.http.addHeaders', 'a list of { name, value }'],
    ['an added header without a value', { addHeaders: [{ name: 'x-a' }] }, 'surfaceBehavior.http.addHeaders[0]', '{ name: string, value: string }'],
    ['headers as a list', { headers: [['a', 'b']] }, 'surfaceBehavior.http.headers', 'headers is an object'],
    ['a header value that is a number', { headers: { 'x-n': 1 } }, 'surfaceBehavior.http.headers.x-n', 'a header value is a string'],
    ['cookies as a string', { cookies: 'a=1' }, 'surfaceBehavior.http.cookies', 'a list of strings'],
    ['addCookies with an object', { addCookies: [{ name: 'a' }] }, 'surfaceBehavior.http.addCookies[0]', 'a string'],
    ['removeHeaders as a string', { removeHeaders: 'x-a' }, 'surfaceBehavior.http.removeHeaders', 'a list of strings'],
    ['a body that is an object', { body: { html: '<p>' } }, 'surfaceBehavior.http.body', 'a string or null'],
    ['statusText that is a number', { statusText: 402 }, 'surfaceBehavior.http.statusText', 'a string'],
    ['an unknown key', { redirect: '/plans' }, 'surfaceBehavior.http.redirect', "unknown key 'redirect'"],
  ])('malformed: %s', (_label, http, path, message) => {
    const result = checkHttpBehavior(http);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.problems).toContainEqual({ path, message: expect.stringContaining(message) });
  });
});

describe('checkWorkflowOutput', () => {
  it('drops what is malformed, keeps the rest, and says what was dropped', () => {
    const checked = checkWorkflowOutput({
      surfaceBehavior: { properties: { teaser: true }, http: { status: 'abc' as unknown as number } },
      componentBehaviors: {
        good: behavior({ before: [{ type: 'html', content: 'B' }] }, 'p'),
        bad: { metadata: { cssSelector: 'article' }, properties: { n: 1 }, content: { before: 'x' } },
      },
    });
    expect(checked.surfaceBehavior).toEqual({ properties: { teaser: true } });
    expect(checked.componentBehaviors).toEqual({
      good: behavior({ before: [{ type: 'html', content: 'B' }] }, 'p'),
      bad: { metadata: { cssSelector: 'article' }, properties: { n: 1 } },
    });
    expect(checked.problems.map((p) => p.path)).toEqual(['surfaceBehavior.http.status', 'componentBehaviors.bad.content.before']);
  });

  it('well-formed output comes back as it was, with no problems', () => {
    const output = { surfaceBehavior: { http: { status: 402, body: 'x' } }, componentBehaviors: { c: behavior({ remove: true }, 'p') } };
    expect(checkWorkflowOutput(output)).toEqual({ ...output, problems: [] });
  });
});

describe('selectors', () => {
  it.each(['p', 'article.story > p:nth-child(2n+1)', '#a [data-x="1"]', 'p:not(.x)', 'p:first-child', 'div p:nth-of-type(3)', 'a[href^="https"]', 'h1, h2'])(
    '%s can be streamed',
    (selector) => {
      expect(checkComponentSelector(selector)).toBeUndefined();
    },
  );

  it.each([
    ['p:last-child', ':last-child'],
    ['li:only-child', ':only-child'],
    ['div:has(p)', ':has'],
    ['h2 + p', 'sibling combinators'],
    ['h2 ~ p', 'sibling combinators'],
    ['p::before', 'pseudo'],
    ['p[', ''],
    ['', 'empty'],
  ])('%j is refused, saying why', (selector, why) => {
    const message = checkComponentSelector(selector);
    expect(message).toMatch(/^the selector .* cannot be applied to a streaming page: /);
    expect(message).toContain(why);
  });

  it('markers are scoped to the component member by member', () => {
    expect(splitSelectorList('a, b[x="1,2"], c:not(.d, .e)')).toEqual(['a', 'b[x="1,2"]', 'c:not(.d, .e)']);
    expect(scopedSelector('article, .post', '.f, .g')).toBe('article .f, article .g, .post .f, .post .g');
  });
});
