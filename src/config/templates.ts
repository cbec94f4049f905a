// Every template the config names (paywall pages, declared components' insertions), read and
// compiled once per load with LiquidJS: values are HTML-escaped unless a template says `| raw`,
// `{% comment %}` never reaches the page, an empty string counts as false in `{% if %}`, and a
// template cannot include other files (nothing is read per request). A template that names a value
// the decision does not have, or does not parse, is a config problem at the key that names it.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Liquid } from 'liquidjs';
import type { CompiledTemplate } from '../engine/model.js';
import { TEMPLATE_VALUE_NAMES } from '../engine/template-values.js';
import { formatPath, type IssueCollector, type KeyPath } from './locate.js';
import type { ConfigFile, InsertionConfig, RouteComponentConfig } from './schema.js';

const liquid = new Liquid({ outputEscape: 'escape', jsTruthy: true, ownPropertyOnly: true, strictFilters: true });
for (const tag of ['include', 'render', 'layout', 'block']) {
  liquid.registerTag(tag, {
    parse() {
      throw new Error(`{% ${tag} %} is not supported: a template is one file, compiled when the config loads`);
    },
    render() {},
  });
}

/** Paywall pages also get the HTTP status and, for older templates, `path` (the same as returnPath). */
const PAYWALL_NAMES = new Set([...TEMPLATE_VALUE_NAMES, 'status', 'path']);
const COMPONENT_NAMES = new Set(TEMPLATE_VALUE_NAMES);

export type TemplateKind = 'paywall' | 'component';

/** Compiles one template, or returns what is wrong with it. */
export function compileTemplate(text: string, source: string, kind: TemplateKind, fromFile = false): CompiledTemplate | string {
  let parsed: ReturnType<Liquid['parse']>;
  let names: string[];
  try {
    parsed = liquid.parse(text);
    names = liquid.globalVariablesSync(parsed);
  } catch (error) {
    return `template ${source}: ${(error as Error).message}`;
  }
  const known = kind === 'paywall' ? PAYWALL_NAMES : COMPONENT_NAMES;
  const unknown = names.filter((name) => !known.has(name));
  if (unknown.length > 0)
    return `template ${source}: unknown value${unknown.length === 1 ? '' : 's'} ${unknown.map((n) => `'${n}'`).join(', ')}; a template may use ${[...known].join(', ')}`;
  const render = (values: object) => liquid.renderSync(parsed, values) as string;
  return fromFile ? { source, file: source, render } : { source, render };
}

/** The template shipped with plangate (config/templates/paywall.html), from source or from dist. */
export function defaultTemplateFile(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [resolve(here, '../../config/templates/paywall.html'), resolve(here, '../../../config/templates/paywall.html')];
  return candidates.find((file) => existsSync(file)) ?? candidates[0];
}

export const templatePath = (baseDir: string, file: string) => (isAbsolute(file) ? file : resolve(baseDir, file));

interface TemplateRef {
  at: KeyPath;
  kind: TemplateKind;
  file?: string;
  inline?: string;
}

/** Compiled templates by the key path that names them (formatPath). */
export type Templates = ReadonlyMap<string, CompiledTemplate>;

/** The key of the gateway's default paywall page in `Templates`. */
export const DEFAULT_PAYWALL_KEY = 'gateway.paywallTemplate';

const OPERATIONS = ['before', 'prepend', 'append', 'after'] as const;

type Located = { insertion: InsertionConfig; at: KeyPath };

/** One operation's insertions (one or a list), each with its key path. */
export function insertionList(value: InsertionConfig | InsertionConfig[] | undefined, path: KeyPath): Located[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value.map((insertion, i) => ({ insertion, at: [...path, i] })) : [{ insertion: value, at: path }];
}

/** The key path of an insertion's template (its `template` or its `html`). */
export const insertionTemplateAt = ({ insertion, at }: Located): KeyPath => [...at, insertion.template !== undefined ? 'template' : 'html'];

/** Each insertion of a declared component, with its key path. */
export function insertionsOf(component: RouteComponentConfig, at: KeyPath): Located[] {
  return [
    ...OPERATIONS.flatMap((op) => insertionList(component[op], [...at, op])),
    ...insertionList(component.replaceRange?.replaceWith, [...at, 'replaceRange', 'replaceWith']),
  ];
}

/** Every declared component, with its key path. */
export function declaredComponents(config: ConfigFile): { component: RouteComponentConfig; at: KeyPath }[] {
  const out: { component: RouteComponentConfig; at: KeyPath }[] = [];
  for (const [slug, surface] of Object.entries(config.surfaces))
    for (const [c, component] of Object.entries(surface.components ?? {})) out.push({ component, at: ['surfaces', slug, 'components', c] });
  config.gateway?.routes.forEach((route, i) => {
    for (const [c, component] of Object.entries(route.components ?? {})) out.push({ component, at: ['gateway', 'routes', i, 'components', c] });
  });
  return out;
}

function templateRefs(config: ConfigFile, baseDir: string): TemplateRef[] {
  const refs: TemplateRef[] = [];
  const gateway = config.gateway;
  if (gateway !== undefined) {
    const file = gateway.paywallTemplate === undefined ? defaultTemplateFile() : templatePath(baseDir, gateway.paywallTemplate);
    refs.push({ at: gateway.paywallTemplate === undefined ? ['gateway'] : ['gateway', 'paywallTemplate'], kind: 'paywall', file });
    gateway.routes.forEach((route, i) => {
      if (route.deny?.template !== undefined)
        refs.push({ at: ['gateway', 'routes', i, 'deny', 'template'], kind: 'paywall', file: templatePath(baseDir, route.deny.template) });
    });
  }
  for (const { component, at } of declaredComponents(config)) {
    for (const located of insertionsOf(component, at)) {
      const { template, html } = located.insertion;
      if (template !== undefined) refs.push({ at: insertionTemplateAt(located), kind: 'component', file: templatePath(baseDir, template) });
      else if (html !== undefined) refs.push({ at: insertionTemplateAt(located), kind: 'component', inline: html });
    }
  }
  return refs;
}

/** The key a template is found under: the key path that names it (the default paywall page under DEFAULT_PAYWALL_KEY). */
export function templateKey(at: KeyPath): string {
  return at.length === 1 && at[0] === 'gateway' ? DEFAULT_PAYWALL_KEY : formatPath(at);
}

/** Reads every template file once (in parallel) and compiles every template; problems are issues at their key. */
export async function compileTemplates(config: ConfigFile, baseDir: string, issues: IssueCollector): Promise<Templates> {
  const refs = templateRefs(config, baseDir);
  const files = [...new Set(refs.flatMap((r) => (r.file === undefined ? [] : [r.file])))];
  const texts = new Map(
    await Promise.all(files.map(async (file) => [file, await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => error)] as const)),
  );
  const compiled = new Map<string, CompiledTemplate>();
  const byFile = new Map<string, CompiledTemplate | string>();
  for (const ref of refs) {
    let result: CompiledTemplate | string;
    if (ref.file !== undefined) {
      const text = texts.get(ref.file)!;
      if (text instanceof Error) {
        issues.add(ref.at, `template ${ref.file}: cannot be read (${text.code ?? 'error'})`);
        continue;
      }
      const cacheKey = `${ref.kind}\u0000${ref.file}`;
      result = byFile.get(cacheKey) ?? compileTemplate(text, ref.file, ref.kind, true);
      byFile.set(cacheKey, result);
    } else {
      result = compileTemplate(ref.inline!, formatPath(ref.at), ref.kind);
    }
    if (typeof result === 'string') issues.add(ref.at, result);
    else compiled.set(templateKey(ref.at), result);
  }
  return compiled;
}
