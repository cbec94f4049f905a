// Checks a workflow's output before anything uses it (docs/components.md, "Checking workflow output"):
// the component behaviours (`content` operations, selectors) and the surface's `http` behaviour.
// Workflows are operator code and may return anything; what the MonetizationOS wire format does not
// allow is reported here with its key path, so the caller can drop it (and mark the decision
// degraded) instead of sending it to a client, an edge proxy or the HTML rewriter. Pure functions; the
// engine runs them on every decision (decide.ts), the gateway's transform on what it applies.
import type { ComponentBehavior, ComponentContent, ContentInsertion, HttpBehavior, SurfaceBehavior } from '../types.js';
import { scopedSelector, selectorProblem } from './selectors.js';

export interface OutputProblem {
  /** Where, as a key path: `componentBehaviors.paywall.content.before[0].type`. */
  path: string;
  message: string;
  /** Set when a selector (the component's or a marker) is well-formed data lol-html cannot apply. */
  selector?: true;
}

export type Checked<T> = { ok: true; value: T } | { ok: false; problems: OutputProblem[] };

const INSERTION_LISTS = ['before', 'prepend', 'append', 'after'] as const;
const CONTENT_KEYS = new Set<string>([...INSERTION_LISTS, 'remove', 'replaceRange']);
const RANGE_KEYS = new Set(['fromMarker', 'toMarker', 'replaceWith']);
/** `src:id@version`: the custom element `<src-id>`; names made of letters, digits, `.`, `_`, `-`. */
const SCHEMA = /^[A-Za-z][A-Za-z0-9._-]*:[A-Za-z][A-Za-z0-9._-]*(@[A-Za-z0-9._+-]*)?$/;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  return typeof value === 'object' ? 'an object' : `${typeof value} ${String(value)}`;
}

function checkInsertion(item: unknown, path: string, problems: OutputProblem[]): ContentInsertion | undefined {
  if (!isPlainObject(item)) {
    problems.push({ path, message: `an insertion is an object { type, ... }, not ${describe(item)}` });
    return undefined;
  }
  // The edge proxies accept the type in any case.
  const type = typeof item.type === 'string' ? item.type.toLowerCase() : item.type;
  if (type === 'html' || type === 'text') {
    if (typeof item.content === 'string') return { type, content: item.content };
    problems.push({ path: `${path}.content`, message: `a ${type} insertion needs content as a string, not ${describe(item.content)}` });
    return undefined;
  }
  if (type === 'element') {
    const before = problems.length;
    if (typeof item.schema !== 'string' || !SCHEMA.test(item.schema))
      problems.push({
        path: `${path}.schema`,
        message: `an element insertion needs a schema 'source:id@version' (letters, digits, '.', '_', '-'), not ${describe(item.schema)}`,
      });
    if (item.props === undefined || typeof item.props === 'function')
      problems.push({ path: `${path}.props`, message: 'an element insertion needs props (any JSON value), rendered into its props attribute' });
    return problems.length === before ? { type, schema: item.schema as string, props: item.props } : undefined;
  }
  problems.push({ path: `${path}.type`, message: `type is 'html', 'text' or 'element', not ${describe(item.type)}` });
  return undefined;
}

function checkInsertions(list: unknown, path: string, problems: OutputProblem[]): ContentInsertion[] | undefined {
  if (!Array.isArray(list)) {
    problems.push({ path, message: `a list of insertions [{ type, ... }], not ${describe(list)}` });
    return undefined;
  }
  const items = list.map((item, i) => checkInsertion(item, `${path}[${i}]`, problems));
  return items.every((item) => item !== undefined) ? (items as ContentInsertion[]) : undefined;
}

function checkMarker(value: unknown, path: string, container: string, problems: OutputProblem[]): string | undefined {
  if (typeof value !== 'string' || value.trim() === '') {
    problems.push({ path, message: `a marker is a CSS selector (a non-empty string), not ${describe(value)}` });
    return undefined;
  }
  const problem = selectorProblem(scopedSelector(container, value));
  if (problem !== undefined)
    problems.push({ path, message: `the marker ${JSON.stringify(value)} cannot be applied to a streaming page: ${problem}`, selector: true });
  return value;
}

/** A component's `content`: an object of operations (docs/components.md, "Operations"). */
export function checkComponentContent(content: unknown, path: string, cssSelector: string): Checked<ComponentContent> {
  const problems: OutputProblem[] = [];
  if (!isPlainObject(content))
    return {
      ok: false,
      problems: [{ path, message: `content is an object of operations (before, prepend, append, after, remove, replaceRange), not ${describe(content)}` }],
    };
  const value: ComponentContent = {};
  for (const key of Object.keys(content)) {
    if (!CONTENT_KEYS.has(key))
      problems.push({ path: `${path}.${key}`, message: `unknown operation '${key}' (before, prepend, append, after, remove, replaceRange)` });
  }
  for (const key of INSERTION_LISTS) {
    if (content[key] === undefined) continue;
    const list = checkInsertions(content[key], `${path}.${key}`, problems);
    if (list !== undefined) value[key] = list;
  }
  if (content.remove !== undefined) {
    if (typeof content.remove === 'boolean') value.remove = content.remove;
    else problems.push({ path: `${path}.remove`, message: `remove is true or false, not ${describe(content.remove)}` });
  }
  const range = content.replaceRange;
  if (range !== undefined) {
    if (!isPlainObject(range))
      problems.push({ path: `${path}.replaceRange`, message: `replaceRange is an object { fromMarker?, toMarker?, replaceWith? }, not ${describe(range)}` });
    else {
      for (const key of Object.keys(range))
        if (!RANGE_KEYS.has(key)) problems.push({ path: `${path}.replaceRange.${key}`, message: `unknown key '${key}' (fromMarker, toMarker, replaceWith)` });
      const replaceRange: NonNullable<ComponentContent['replaceRange']> = {};
      if (range.fromMarker !== undefined) replaceRange.fromMarker = checkMarker(range.fromMarker, `${path}.replaceRange.fromMarker`, cssSelector, problems);
      if (range.toMarker !== undefined) replaceRange.toMarker = checkMarker(range.toMarker, `${path}.replaceRange.toMarker`, cssSelector, problems);
      if (range.replaceWith !== undefined) replaceRange.replaceWith = checkInsertions(range.replaceWith, `${path}.replaceRange.replaceWith`, problems);
      value.replaceRange = replaceRange;
    }
  }
  return problems.length === 0 ? { ok: true, value } : { ok: false, problems };
}

/** One entry of `componentBehaviors`: its selector, its properties (an object) and its content. */
export function checkComponentBehavior(behavior: unknown, path: string): Checked<ComponentBehavior & { content?: ComponentContent }> {
  const { value, problems } = wellFormedParts(behavior, path);
  return problems.length === 0 ? { ok: true, value: value! } : { ok: false, problems };
}

/** The well-formed parts of a component behavior (none without a selector), and what the others lack. */
function wellFormedParts(behavior: unknown, path: string): { value?: ComponentBehavior & { content?: ComponentContent }; problems: OutputProblem[] } {
  if (!isPlainObject(behavior))
    return { problems: [{ path, message: `a component behavior is an object { properties?, content?, metadata }, not ${describe(behavior)}` }] };
  const problems: OutputProblem[] = [];
  const metadata = behavior.metadata;
  const cssSelector = isPlainObject(metadata) ? metadata.cssSelector : undefined;
  if (typeof cssSelector !== 'string')
    return { problems: [{ path: `${path}.metadata.cssSelector`, message: `the component's CSS selector is a string, not ${describe(cssSelector)}` }] };
  const value: ComponentBehavior & { content?: ComponentContent } = { metadata: { cssSelector } };
  if (behavior.properties !== undefined) {
    if (isPlainObject(behavior.properties)) value.properties = behavior.properties;
    else problems.push({ path: `${path}.properties`, message: `properties is an object, not ${describe(behavior.properties)}` });
  }
  const selector = selectorProblem(cssSelector);
  if (selector !== undefined) {
    // Content for a selector nobody can apply is dropped with it.
    problems.push({
      path: `${path}.metadata.cssSelector`,
      message: `the selector ${JSON.stringify(cssSelector)} cannot be applied to a streaming page: ${selector}`,
      selector: true,
    });
  } else if (behavior.content !== undefined) {
    const content = checkComponentContent(behavior.content, `${path}.content`, cssSelector);
    if (content.ok) value.content = content.value;
    else problems.push(...content.problems);
  }
  return { value, problems };
}

function checkStringList(value: unknown, path: string, what: string, problems: OutputProblem[]): void {
  if (!Array.isArray(value)) problems.push({ path, message: `${what}: a list of strings, not ${describe(value)}` });
  else value.forEach((v, i) => typeof v !== 'string' && problems.push({ path: `${path}[${i}]`, message: `${what}: a string, not ${describe(v)}` }));
}

const HTTP_KEYS = new Set(['status', 'statusText', 'headers', 'cookies', 'addHeaders', 'removeHeaders', 'addCookies', 'body']);

/** `surfaceBehavior.http`, in its replace form or its modify form (docs/workflows.md). */
export function checkHttpBehavior(http: unknown, path = 'surfaceBehavior.http'): Checked<HttpBehavior> {
  if (!isPlainObject(http))
    return { ok: false, problems: [{ path, message: `http is an object { status?, headers?, addHeaders?, ..., body? }, not ${describe(http)}` }] };
  const problems: OutputProblem[] = [];
  for (const key of Object.keys(http))
    if (!HTTP_KEYS.has(key)) problems.push({ path: `${path}.${key}`, message: `unknown key '${key}' (${[...HTTP_KEYS].join(', ')})` });
  const { status, statusText, headers, cookies, addHeaders, removeHeaders, addCookies, body } = http;
  if (status !== undefined && !(Number.isInteger(status) && (status as number) >= 200 && (status as number) <= 599))
    problems.push({ path: `${path}.status`, message: `a status is an integer from 200 to 599, not ${describe(status)}` });
  if (statusText !== undefined && typeof statusText !== 'string')
    problems.push({ path: `${path}.statusText`, message: `statusText is a string, not ${describe(statusText)}` });
  if (headers !== undefined) {
    if (!isPlainObject(headers)) problems.push({ path: `${path}.headers`, message: `headers is an object { name: value }, not ${describe(headers)}` });
    else
      for (const [name, value] of Object.entries(headers))
        if (typeof value !== 'string') problems.push({ path: `${path}.headers.${name}`, message: `a header value is a string, not ${describe(value)}` });
  }
  if (cookies !== undefined) checkStringList(cookies, `${path}.cookies`, 'cookies are Set-Cookie strings', problems);
  if (addCookies !== undefined) checkStringList(addCookies, `${path}.addCookies`, 'addCookies are Set-Cookie strings', problems);
  if (removeHeaders !== undefined) checkStringList(removeHeaders, `${path}.removeHeaders`, 'removeHeaders are header names', problems);
  if (addHeaders !== undefined) {
    if (!Array.isArray(addHeaders))
      problems.push({ path: `${path}.addHeaders`, message: `addHeaders is a list of { name, value }, not ${describe(addHeaders)}` });
    else
      addHeaders.forEach((entry, i) => {
        if (!isPlainObject(entry) || typeof entry.name !== 'string' || typeof entry.value !== 'string')
          problems.push({ path: `${path}.addHeaders[${i}]`, message: `each added header is { name: string, value: string }, not ${describe(entry)}` });
      });
  }
  if (body !== undefined && body !== null && typeof body !== 'string')
    problems.push({ path: `${path}.body`, message: `body is a string or null, not ${describe(body)}` });
  return problems.length === 0 ? { ok: true, value: http as HttpBehavior } : { ok: false, problems };
}

export interface CheckedOutput {
  /** The surface behavior, without its `http` when that was malformed. */
  surfaceBehavior: SurfaceBehavior;
  /** Every component, each without the parts that were malformed (one without a string selector is left out). */
  componentBehaviors: Record<string, ComponentBehavior>;
  /** Empty when everything was well-formed; otherwise the decision is degraded. */
  problems: OutputProblem[];
}

/** Every component behaviour, each without its malformed parts (one without a string selector is left out). */
export function checkComponentBehaviors(behaviors: Record<string, unknown>): { componentBehaviors: Record<string, ComponentBehavior>; problems: OutputProblem[] } {
  const problems: OutputProblem[] = [];
  const componentBehaviors: Record<string, ComponentBehavior> = {};
  for (const [slug, behavior] of Object.entries(behaviors)) {
    const parts = wellFormedParts(behavior, `componentBehaviors.${slug}`);
    problems.push(...parts.problems);
    if (parts.value !== undefined) componentBehaviors[slug] = parts.value;
  }
  return { componentBehaviors, problems };
}

/** A decision's workflow output with malformed parts dropped, and what was dropped and why. */
export function checkWorkflowOutput(output: { surfaceBehavior: SurfaceBehavior; componentBehaviors: Record<string, ComponentBehavior> }): CheckedOutput {
  const problems: OutputProblem[] = [];
  let surfaceBehavior = output.surfaceBehavior;
  if (surfaceBehavior.http !== undefined) {
    const http = checkHttpBehavior(surfaceBehavior.http);
    if (!http.ok) {
      problems.push(...http.problems);
      const { http: _dropped, ...rest } = surfaceBehavior;
      surfaceBehavior = rest;
    }
  }
  const components = checkComponentBehaviors(output.componentBehaviors);
  problems.push(...components.problems);
  return { surfaceBehavior, componentBehaviors: components.componentBehaviors, problems };
}
