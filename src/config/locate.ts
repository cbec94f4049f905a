// From a key path to a place in the YAML file: walks the parsed document (which keeps every node's
// source range) so that schema and cross-reference errors point at the exact key or value.
import { isAlias, isMap, isPair, isScalar, isSeq, type Document, type LineCounter, type Node } from 'yaml';
import type { ConfigIssue } from './errors.js';

export type KeyPath = readonly (string | number)[];

/** `plans.registered.features.widget.enabled.limit`, `jwt.integrations[0].secret`. */
export function formatPath(path: KeyPath): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (/^[A-Za-z0-9_-]+$/.test(seg)) out += out === '' ? seg : `.${seg}`;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}

/** Turns an ajv instancePath (`/plans/a/features`) into segments, numbers where the data is an array. */
export function pointerToPath(pointer: string, data: unknown): (string | number)[] {
  if (pointer === '') return [];
  const out: (string | number)[] = [];
  let cur: unknown = data;
  for (const raw of pointer.slice(1).split('/')) {
    const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(cur)) {
      out.push(Number(seg));
      cur = cur[Number(seg)];
    } else {
      out.push(seg);
      cur = cur !== null && typeof cur === 'object' ? (cur as Record<string, unknown>)[seg] : undefined;
    }
  }
  return out;
}

function scalarKey(key: unknown): string | undefined {
  if (isScalar(key)) return String(key.value);
  return undefined;
}

function child(doc: Document, node: unknown, seg: string | number): { key?: Node; value?: Node } | undefined {
  const target = isAlias(node) ? node.resolve(doc) : node;
  if (isMap(target)) {
    const pair = target.items.find((p) => scalarKey(p.key) === String(seg));
    if (!pair) return undefined;
    return { key: pair.key as Node, value: (pair.value ?? undefined) as Node | undefined };
  }
  if (isSeq(target) && typeof seg === 'number') {
    const item = target.items[seg];
    return item === undefined ? undefined : { value: item as Node };
  }
  return undefined;
}

/** The range start of the node at `path` (its key when `key` is set), or of the deepest node that exists. */
export function locateOffset(doc: Document, path: KeyPath, key = false): number {
  let node: unknown = doc.contents;
  let best = (doc.contents as Node | null)?.range?.[0] ?? 0;
  for (let i = 0; i < path.length; i++) {
    const next = child(doc, node, path[i]);
    if (!next) return best;
    const last = i === path.length - 1;
    const keyStart = next.key?.range?.[0];
    const valueStart = next.value?.range?.[0];
    // A key is the best place to point at; for a missing value, the key that should hold it.
    best = (last && key ? keyStart : (valueStart ?? keyStart)) ?? best;
    if (last && key && keyStart !== undefined) return keyStart;
    node = next.value;
  }
  return best;
}

/** The key path of the deepest node whose source range contains `offset` (for YAML parse errors). */
export function pathAtOffset(doc: Document, offset: number): (string | number)[] {
  const path: (string | number)[] = [];
  let node: unknown = doc.contents;
  for (;;) {
    if (isMap(node)) {
      const pair = node.items.find((p) => {
        const k = (p.key as Node | null)?.range;
        const v = (p.value as Node | null)?.range;
        return (k && offset >= k[0] && offset <= k[2]) || (v && offset >= v[0] && offset <= v[2]);
      });
      if (!pair || !isPair(pair) || scalarKey(pair.key) === undefined) return path;
      path.push(scalarKey(pair.key)!);
      const k = (pair.key as Node).range;
      if (k && offset >= k[0] && offset <= k[2]) return path;
      node = pair.value;
    } else if (isSeq(node)) {
      const index = node.items.findIndex((it) => {
        const r = (it as Node | null)?.range;
        return r !== undefined && r !== null && offset >= r[0] && offset <= r[2];
      });
      if (index < 0) return path;
      path.push(index);
      node = node.items[index];
    } else {
      return path;
    }
  }
}

/** Collects issues located in one YAML file: errors (the load fails) and warnings (it does not). */
export class IssueCollector {
  readonly issues: ConfigIssue[] = [];
  readonly warnings: ConfigIssue[] = [];

  constructor(
    readonly file: string,
    private readonly doc: Document,
    private readonly lines: LineCounter,
  ) {}

  /** Adds an issue at `path`; `key: true` points at the key itself (unknown keys, bad slugs). */
  add(path: KeyPath, message: string, options: { key?: boolean; expected?: string } = {}): void {
    this.addAtOffset(locateOffset(this.doc, path, options.key ?? false), formatPath(path), message, options.expected);
  }

  /** A config that loads but probably does not do what its author meant. */
  warn(path: KeyPath, message: string): void {
    this.warnings.push(this.located(locateOffset(this.doc, path), formatPath(path), message));
  }

  addAtOffset(offset: number, path: string, message: string, expected?: string): void {
    this.issues.push(this.located(offset, path, message, expected));
  }

  private located(offset: number, path: string, message: string, expected?: string): ConfigIssue {
    const { line, col } = this.lines.linePos(offset);
    const issue: ConfigIssue = { file: this.file, line, column: col, path, message };
    if (expected !== undefined) issue.expected = expected;
    return issue;
  }
}
