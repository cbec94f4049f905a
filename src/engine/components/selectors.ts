// Which CSS selectors the gateway can apply while a page streams: exactly those lol-html accepts
// (the same rewriter as the edge proxies), checked by asking it. lol-html refuses what needs the rest
// of the page to decide (`:last-child`, `:has()`, `+`, `~` ...); the edge proxies skip components
// with such selectors at run time, plangate refuses them when the config or a workflow's output is
// checked, with a message that says why and what to use instead. The engine owns this rule (config/
// checks declared selectors with it, the engine checks workflow output, the gateway applies what
// passed); it asks lol-html's own selector parser, loaded on first use (~30 ms to compile its wasm).
import { createRequire } from 'node:module';
import type * as HtmlRewriterWasm from 'html-rewriter-wasm';

let parser: typeof HtmlRewriterWasm | undefined;

function parserRewriter(): HtmlRewriterWasm.HTMLRewriter {
  parser ??= createRequire(import.meta.url)('html-rewriter-wasm') as typeof HtmlRewriterWasm;
  return new parser.HTMLRewriter(() => {});
}

const AFTER_THE_ELEMENT = /:(last-child|last-of-type|only-child|only-of-type|nth-last-child|nth-last-of-type|has|empty)\b/i;
const SIBLING = /[+~](?![^[]*\])(?![^(]*\))/;

const checked = new Map<string, string | null>();

/**
 * Why lol-html cannot stream `selector`, or undefined when it can. Remembered per selector string
 * (workflows return the same few again and again), up to 1,000 of them.
 */
export function selectorProblem(selector: string): string | undefined {
  let problem = checked.get(selector);
  if (problem === undefined) {
    problem = parseProblem(selector);
    if (checked.size >= 1_000) checked.clear();
    checked.set(selector, problem);
  }
  return problem ?? undefined;
}

function parseProblem(selector: string): string | null {
  if (selector.trim() === '') return 'the selector is empty';
  const rewriter = parserRewriter();
  try {
    rewriter.on(selector, {});
    return null;
  } catch (error) {
    const reason = String((error as Error).message ?? error).replace(/^Parser error: /, '');
    const match = AFTER_THE_ELEMENT.exec(selector);
    if (match)
      return `'${match[0]}' depends on what comes after the element, which a rewriter streaming the page cannot know yet (use :first-child, :nth-child(), :nth-of-type() or a class)`;
    if (SIBLING.test(selector)) return `sibling combinators ('+', '~') cannot be applied while the page streams (${reason})`;
    return reason;
  } finally {
    rewriter.free();
  }
}

/**
 * For config/ (`surfaces.<s>.components.<c>.selector`): why a declared selector cannot be applied, as
 * the message the loader reports at the selector's key path (with file, line and column), or undefined.
 */
export function checkComponentSelector(selector: string): string | undefined {
  const problem = selectorProblem(selector);
  return problem === undefined ? undefined : `the selector ${JSON.stringify(selector)} cannot be applied to a streaming page: ${problem}`;
}

/** Splits a selector list on its top-level commas (not those inside brackets, parentheses or quotes). */
export function splitSelectorList(selector: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quote = '';
  let start = 0;
  for (let i = 0; i < selector.length; i++) {
    const ch = selector[i];
    if (quote !== '') {
      if (ch === '\\') i++;
      else if (ch === quote) quote = '';
    } else if (ch === '"' || ch === "'") quote = ch;
    else if (ch === '(' || ch === '[') depth++;
    else if (ch === ')' || ch === ']') depth--;
    else if (ch === ',' && depth === 0) {
      parts.push(selector.slice(start, i).trim());
      start = i + 1;
    }
  }
  parts.push(selector.slice(start).trim());
  return parts;
}

/**
 * A marker selector scoped to the component's elements: `container marker` for every member of both
 * lists. (The edge proxies join the two strings with a space, which scopes only the last member of a
 * list; with single selectors, the common case, both give the same selector.)
 */
export function scopedSelector(container: string, marker: string): string {
  const outer = splitSelectorList(container);
  const inner = splitSelectorList(marker);
  return outer.flatMap((c) => inner.map((m) => `${c} ${m}`)).join(', ');
}
