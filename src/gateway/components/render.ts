// What a component inserts, as HTML (docs/components.md, "Inserted content"): `html` as it is, `text`
// escaped the way lol-html escapes text (`&`, `<`, `>`; quotes need no escaping outside attributes),
// and `element` as the custom element of its schema: `src:id@ver` becomes
// `<src-id version="ver" props="JSON"></src-id>`, with only `"` escaped in the JSON (as the edge
// proxies do: a browser decodes `&quot;` in the attribute back to the JSON).
import type { ContentInsertion } from '../../engine/types.js';

export function escapeText(text: string): string {
  return text.replace(/[&<>]/g, (ch) => (ch === '&' ? '&amp;' : ch === '<' ? '&lt;' : '&gt;'));
}

export function renderInsertion(item: ContentInsertion): string {
  switch (item.type) {
    case 'html':
      return item.content;
    case 'text':
      return escapeText(item.content);
    case 'element': {
      const [source, rest = ''] = item.schema.split(':');
      const [id, version = ''] = rest.split('@');
      const tag = `${source}-${id}`;
      return `<${tag} version="${version}" props="${JSON.stringify(item.props).replaceAll('"', '&quot;')}"></${tag}>`;
    }
  }
}

/** A list of insertions as one HTML string, in order. */
export function renderInsertions(items: readonly ContentInsertion[]): string {
  return items.map(renderInsertion).join('');
}

/**
 * Inserted HTML for a page that is not in UTF-8: every character outside ASCII becomes a numeric
 * character reference, which means the same character in any ASCII-compatible charset. (lol-html
 * writes the characters the page's charset can hold as bytes of that charset; the page reads the same.)
 */
export function asciiOnly(html: string): string {
  return html.replace(/[^\x00-\x7f]/gu, (ch) => `&#${ch.codePointAt(0)};`);
}
