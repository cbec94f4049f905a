// Loading a config file, top to bottom: read → parse YAML (keeping source ranges) → ${ENV} in
// values → schema (with defaults) → cross-references (route rules included) → workflow, key and
// template files → the engine's Model and the gateway's model, compiled once.
// Every stage collects all its problems; the load throws one ConfigError listing them.
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import type { AnonymousIdKey } from '../engine/identity/anonymous-ids.js';
import type { LoadedWorkflow, Model } from '../engine/model.js';
import { loadWorkflow } from '../engine/workflows/load.js';
import type { GatewayModel } from '../gateway/model.js';
import { compile, deepFreeze } from './compile.js';
import { compileGateway } from './compile-gateway.js';
import { compileTemplates } from './templates.js';
import { crossCheck } from './cross-check.js';
import { substituteEnv, type Env } from './env.js';
import { ConfigError, type ConfigIssue } from './errors.js';
import type { PemKey } from '../engine/model.js';
import { resolvePemKeys } from './pem-keys.js';
import { formatPath, IssueCollector, pathAtOffset, type KeyPath } from './locate.js';
import type { ConfigFile } from './schema.js';
import { validateConfig } from './validate.js';

export interface LoadOptions {
  /** Variables for `${VAR}`; defaults to process.env. */
  env?: Env;
  /** Gets each warning (a config that loads but likely does not do what was meant), after a successful load. */
  onWarning?: (warning: ConfigIssue) => void;
  /** The anonymous-id key to use when the file declares no `anonymousIds` (the CLI's `--dev`). */
  devAnonymousIdKey?: AnonymousIdKey;
}

/** A loaded config: the engine's model, plus the gateway's when the file has a `gateway` section. */
export interface LoadedConfig extends Model {
  readonly gateway?: GatewayModel;
}

/** Sections whose schema defaults apply even when the section is left out. */
const DEFAULTED_SECTIONS = ['store', 'workflows', 'server', 'api', 'paywall'] as const;

export async function loadConfig(file: string, options: LoadOptions = {}): Promise<LoadedConfig> {
  const path = resolve(file);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const message = code === 'ENOENT' ? 'config file not found' : `cannot read the config file (${code ?? 'error'})`;
    throw new ConfigError([{ file: path, line: 1, column: 1, path: '', message }]);
  }

  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const issues = new IssueCollector(path, doc, lines);
  if (doc.errors.length > 0) {
    for (const error of doc.errors) {
      const what =
        error.code === 'DUPLICATE_KEY' ? 'duplicate key: each key may appear once in a mapping' : `YAML syntax error: ${error.message.split('\n')[0]}`;
      issues.addAtOffset(error.pos[0], formatPath(pathAtOffset(doc, error.pos[0])), what);
    }
    throw new ConfigError(issues.issues);
  }

  substituteEnv(doc, options.env ?? process.env, issues);
  // A value whose variable is unset stays unresolved; later complaints about it would only repeat that.
  const envIssueCount = issues.issues.length;
  const envFailed = new Set(issues.issues.map((i) => i.path));
  const fail = (): ConfigError => new ConfigError(issues.issues.filter((i, n) => n < envIssueCount || !envFailed.has(i.path)));

  const data: unknown = doc.toJS();
  let devAnonymousIdKey = false;
  if (data !== null && typeof data === 'object' && !Array.isArray(data)) {
    const sections = data as Record<string, unknown>;
    for (const section of DEFAULTED_SECTIONS) sections[section] ??= {};
    if (sections.anonymousIds === undefined && options.devAnonymousIdKey !== undefined) {
      const { id, secret } = options.devAnonymousIdKey;
      sections.anonymousIds = { keys: [{ id, secret }] };
      devAnonymousIdKey = true;
    }
  }
  if (!validateConfig(data, issues)) throw fail();
  const config = data as ConfigFile;
  crossCheck(config, issues);

  const baseDir = dirname(path);
  const [workflows, pemKeys, templates] = await Promise.all([
    loadWorkflows(config, baseDir, issues),
    loadPemKeys(config, baseDir, issues),
    compileTemplates(config, baseDir, issues),
  ]);
  if (issues.issues.length > 0) throw fail();
  const model = compile(config, path, { baseDir, workflows, pemKeys, devAnonymousIdKey, templates });
  const gateway = compileGateway(config, path, templates);
  for (const warning of issues.warnings) options.onWarning?.(warning);
  return gateway === undefined ? model : deepFreeze({ ...model, gateway });
}

/** Every workflow file the config names, with the key that names it. */
function workflowRefs(config: ConfigFile): { file: string; at: KeyPath }[] {
  const refs: { file: string; at: KeyPath }[] = [];
  config.provisioning?.workflows?.forEach((file, i) => refs.push({ file, at: ['provisioning', 'workflows', i] }));
  for (const [slug, surface] of Object.entries(config.surfaces)) {
    if (surface.workflow !== undefined) refs.push({ file: surface.workflow, at: ['surfaces', slug, 'workflow'] });
    for (const [c, component] of Object.entries(surface.components ?? {})) {
      if (component.workflow !== undefined) refs.push({ file: component.workflow, at: ['surfaces', slug, 'components', c, 'workflow'] });
    }
  }
  return refs;
}

async function loadWorkflows(config: ConfigFile, baseDir: string, issues: IssueCollector): Promise<Map<string, LoadedWorkflow<unknown>>> {
  const refs = workflowRefs(config);
  const files = [...new Set(refs.map((r) => resolve(baseDir, r.file)))];
  const results = new Map(await Promise.all(files.map(async (f) => [f, await loadWorkflow<unknown>(f)] as const)));
  const loaded = new Map<string, LoadedWorkflow<unknown>>();
  for (const ref of refs) {
    const abs = resolve(baseDir, ref.file);
    const result = results.get(abs)!;
    if (result.ok) loaded.set(abs, result.workflow);
    else issues.add(ref.at, result.message);
  }
  return loaded;
}

async function loadPemKeys(config: ConfigFile, baseDir: string, issues: IssueCollector): Promise<PemKey[][]> {
  const integrations = config.jwt?.integrations ?? [];
  return Promise.all(
    integrations.map((integration, i) =>
      // HMAC-only integrations have no PEM keys; the cross-check reports keys given to them.
      integration.algorithms.every((a) => a.startsWith('HS')) ? [] : resolvePemKeys(integration, ['jwt', 'integrations', i], baseDir, issues),
    ),
  );
}
