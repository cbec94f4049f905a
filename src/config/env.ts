// `${VAR}` substitution in parsed scalar values (never in the raw text, so a variable's value can
// not inject YAML structure). `${VAR:-default}` falls back when VAR is unset or empty; `$${` is a
// literal `${`. A plain (unquoted) scalar that is exactly one reference is re-read as a YAML scalar,
// so `port: ${PORT}` gives a number; quote it ("${PORT}") to keep a string.
import { isMap, isScalar, isSeq, parse, Scalar, type Document } from 'yaml';
import type { IssueCollector, KeyPath } from './locate.js';

const REFERENCE = /\$\$\{|\$\{([^}]*)\}/g;
const NAME_AND_DEFAULT = /^([A-Za-z_][A-Za-z0-9_]*)(?::-(.*))?$/s;
const WHOLE_REFERENCE = /^\$\{[^}]*\}$/;

export type Env = Record<string, string | undefined>;

type Substitution = { ok: true; value: string } | { ok: false; message: string };

/** Expands the references in one string; the message never contains a variable's value. */
export function expand(text: string, env: Env): Substitution {
  let failure: string | undefined;
  const value = text.replace(REFERENCE, (match, inner: string | undefined) => {
    if (match === '$${') return '${';
    const parts = NAME_AND_DEFAULT.exec(inner ?? '');
    if (!parts) {
      failure ??= `malformed reference '${match}': write \${NAME} or \${NAME:-default}`;
      return '';
    }
    const [, name, fallback] = parts;
    const set = Object.hasOwn(env, name) ? env[name] : undefined;
    if (set !== undefined && (set !== '' || fallback === undefined)) return set;
    if (fallback !== undefined) return fallback;
    failure ??= `environment variable ${name} is not set: set it (export ${name}=...) or write \${${name}:-default} for a default`;
    return '';
  });
  // A `${` outside every complete reference has no closing brace.
  if (failure === undefined && text.replace(REFERENCE, '\u0000').includes('${')) {
    failure = "unterminated '${': close it with '}' or write '$${' for a literal";
  }
  return failure === undefined ? { ok: true, value } : { ok: false, message: failure };
}

/** Substitutes in place in every scalar value of the document; problems go to `issues`. */
export function substituteEnv(doc: Document, env: Env, issues: IssueCollector): void {
  const visit = (node: unknown, path: (string | number)[]): void => {
    if (isMap(node)) {
      for (const pair of node.items) {
        const key = isScalar(pair.key) ? String(pair.key.value) : undefined;
        if (key !== undefined) visit(pair.value, [...path, key]);
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, i) => visit(item, [...path, i]));
    } else if (isScalar(node) && typeof node.value === 'string' && node.value.includes('${')) {
      substituteScalar(node, env, path, issues);
    }
  };
  visit(doc.contents, []);
}

function substituteScalar(node: Scalar, env: Env, path: KeyPath, issues: IssueCollector): void {
  const source = node.value as string;
  const result = expand(source, env);
  if (!result.ok) {
    issues.add(path, result.message);
    return;
  }
  node.value = node.type === Scalar.PLAIN && WHOLE_REFERENCE.test(source) ? retype(result.value) : result.value;
}

/** Numbers and booleans written through a variable keep their type; anything else stays a string. */
function retype(text: string): string | number | boolean {
  if (text.trim() === '') return text;
  try {
    const parsed: unknown = parse(text);
    return typeof parsed === 'number' || typeof parsed === 'boolean' ? parsed : text;
  } catch {
    return text;
  }
}
