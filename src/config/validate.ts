// Schema validation with ajv, and the translation of ajv's errors into located, readable issues.
// Defaults from the schema are written into the data (`useDefaults`).
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { ConfigSchema, type ConfigFile } from './schema.js';
import { pointerToPath, type IssueCollector } from './locate.js';

type Schema = Record<string, unknown>;

let compiled: ValidateFunction | undefined;
function validator(): ValidateFunction {
  // verbose: errors carry their schema and data, which the messages below need (data only for its type).
  compiled ??= new Ajv({ useDefaults: true, allErrors: true, strict: true, verbose: true }).compile(ConfigSchema);
  return compiled;
}

/** Validates and fills defaults in place; reports every error to `issues`. */
export function validateConfig(data: unknown, issues: IssueCollector): data is ConfigFile {
  const validate = validator();
  if (validate(data)) return true;
  for (const error of collapseUnions(validate.errors ?? [])) report(error, data, issues);
  return false;
}

function jsType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'list';
  if (typeof value === 'object') return 'mapping';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

function typeWord(type: unknown): string {
  if (type === 'object') return 'mapping';
  if (type === 'array') return 'list';
  return String(type);
}

function branchAccepts(branch: Schema, data: unknown): boolean {
  const kind = jsType(data);
  const t = typeWord(branch.type);
  return 'const' in branch ? false : t === kind || (t === 'number' && kind === 'integer');
}

/**
 * ajv reports a failed `anyOf` with every branch's errors. When exactly one branch is of the data's
 * type (a meter mapping among plan values), keep that branch's errors, which say what is wrong
 * inside it; otherwise keep only the union's own error, which says what was expected.
 */
function collapseUnions(errors: ErrorObject[]): ErrorObject[] {
  const dropped = new Set<ErrorObject>();
  const unions = errors.filter((e) => e.keyword === 'anyOf').sort((a, b) => a.schemaPath.length - b.schemaPath.length);
  for (const union of unions) {
    if (dropped.has(union)) continue;
    const prefix = `${union.schemaPath}/`;
    const branches = union.schema as Schema[];
    const fitting = branches.flatMap((b, i) => (branchAccepts(b, union.data) ? [i] : []));
    const pick = fitting.length === 1 ? `${prefix}${fitting[0]}/` : undefined;
    for (const e of errors) {
      if (e.schemaPath.startsWith(prefix) && (pick === undefined || !e.schemaPath.startsWith(pick))) dropped.add(e);
    }
    if (pick !== undefined) dropped.add(union);
  }
  return errors.filter((e) => !dropped.has(e));
}

function describeUnion(schema: Schema): string {
  if (typeof schema.description === 'string') return schema.description;
  const branches = (schema.anyOf as Schema[]) ?? [];
  const words = branches.map((b) => ('const' in b ? String(b.const) : `a ${typeWord(b.type)}`));
  return branches.every((b) => 'const' in b) ? `one of ${words.join(', ')}` : words.join(' or ');
}

function withDescription(message: string, schema: Schema | undefined): string {
  return typeof schema?.description === 'string' ? `${message} (${schema.description})` : message;
}

function report(error: ErrorObject, data: unknown, issues: IssueCollector): void {
  const path = pointerToPath(error.instancePath, data);
  const parent = error.parentSchema as Schema | undefined;
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'additionalProperties': {
      const known = Object.keys((parent?.properties as Schema | undefined) ?? {});
      const expected = `one of ${known.join(', ')}`;
      issues.add([...path, String(params.additionalProperty)], `unknown key '${String(params.additionalProperty)}'; expected ${expected}`, {
        key: true,
        expected,
      });
      return;
    }
    case 'required':
      issues.add(path, `missing required key '${String(params.missingProperty)}'`, { key: true, expected: String(params.missingProperty) });
      return;
    case 'type': {
      const expected = typeWord(params.type);
      issues.add(path, `expected ${expected}, got ${jsType(error.data)}`, { expected });
      return;
    }
    case 'anyOf': {
      const expected = describeUnion(parent ?? {});
      // A value of the right type that is not among the allowed ones needs no 'got'.
      const sameType = ((error.schema as Schema[]) ?? []).some((b) => 'const' in b && jsType(b.const) === jsType(error.data));
      issues.add(path, sameType ? `expected ${expected}` : `expected ${expected}, got ${jsType(error.data)}`, { expected });
      return;
    }
    case 'const': {
      const expected = typeof parent?.description === 'string' ? parent.description : JSON.stringify(params.allowedValue);
      issues.add(path, `expected ${expected}`, { expected });
      return;
    }
    case 'enum': {
      const expected = `one of ${(params.allowedValues as unknown[]).map(String).join(', ')}`;
      issues.add(path, `expected ${expected}`, { expected });
      return;
    }
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum': {
      const words: Record<string, string> = { '>=': 'at least', '<=': 'at most', '>': 'more than', '<': 'less than' };
      issues.add(path, withDescription(`must be ${words[String(params.comparison)]} ${String(params.limit)}`, parent), {
        expected: `${String(params.comparison)} ${String(params.limit)}`,
      });
      return;
    }
    case 'pattern': {
      const expected = typeof parent?.description === 'string' ? parent.description : `a string matching ${String(params.pattern)}`;
      issues.add(path, `expected ${expected}`, { expected });
      return;
    }
    case 'minLength':
      issues.add(path, params.limit === 1 ? 'must not be empty' : `must be at least ${String(params.limit)} characters long`);
      return;
    case 'maxLength':
      issues.add(path, `must be at most ${String(params.limit)} characters long`);
      return;
    case 'minItems':
      issues.add(path, `must list at least ${String(params.limit)} item${params.limit === 1 ? '' : 's'}`);
      return;
    case 'maxItems':
      issues.add(path, `must list at most ${String(params.limit)} items`);
      return;
    case 'uniqueItems':
      issues.add(path, `items ${String(params.j)} and ${String(params.i)} are the same; list each once`);
      return;
    default:
      issues.add(path, error.message ?? `fails the schema keyword '${error.keyword}'`);
  }
}
