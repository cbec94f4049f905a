// The `gateway` section → the gateway's model (src/gateway/model.ts), once per load: route patterns
// in canonical form, each route's denial with its paywall template read and split, settings with
// their defaults. The gateway reads the result and compiles nothing itself.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Denial, GatewayModel, GatewayRoute, Template } from '../gateway/model.js';
import { toConsumption } from './compile.js';
import type { IssueCollector, KeyPath } from './locate.js';
import { routeGuards } from './route-guards.js';
import { compileMethods, compilePattern } from './route-rules.js';
import type { ConfigFile, GatewayConfig, RouteConfig } from './schema.js';

const PLACEHOLDER = /\{\{\s*([a-zA-Z]+)\s*\}\}/g;

/** Literal parts and placeholder names, alternating (`{{ path }}` → `path` at an odd index). */
export function parseTemplate(file: string, text: string): Template {
  return { file, parts: text.split(PLACEHOLDER) };
}

/** The template shipped with plangate (config/templates/paywall.html), from source or from dist. */
export function defaultTemplateFile(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [resolve(here, '../../config/templates/paywall.html'), resolve(here, '../../../config/templates/paywall.html')];
  return candidates.find((file) => existsSync(file)) ?? candidates[0];
}

const templatePath = (baseDir: string, file: string) => (isAbsolute(file) ? file : resolve(baseDir, file));

/** Every paywall template the gateway section names (and the default one), read once; unreadable ones are issues at their key. */
export async function readTemplates(config: ConfigFile, baseDir: string, issues: IssueCollector): Promise<Map<string, Template>> {
  const templates = new Map<string, Template>();
  const gateway = config.gateway;
  if (gateway === undefined) return templates;
  const refs: { file: string; at: KeyPath }[] = [
    gateway.paywallTemplate === undefined
      ? { file: defaultTemplateFile(), at: ['gateway'] }
      : { file: templatePath(baseDir, gateway.paywallTemplate), at: ['gateway', 'paywallTemplate'] },
  ];
  gateway.routes.forEach((route, i) => {
    if (route.deny?.template !== undefined) refs.push({ file: templatePath(baseDir, route.deny.template), at: ['gateway', 'routes', i, 'deny', 'template'] });
  });
  const files = [...new Set(refs.map((r) => r.file))];
  const read = await Promise.all(
    files.map((file) =>
      readFile(file, 'utf8').then(
        (text) => parseTemplate(file, text),
        (error: NodeJS.ErrnoException) => error,
      ),
    ),
  );
  files.forEach((file, i) => {
    const result = read[i];
    if (!(result instanceof Error)) templates.set(file, result);
  });
  for (const ref of refs) {
    const failed = read[files.indexOf(ref.file)];
    if (failed instanceof Error) issues.add(ref.at, `paywall template ${ref.file}: cannot be read (${failed.code ?? 'error'})`);
  }
  return templates;
}

function compileDenial(route: RouteConfig, defaultTemplate: Template, templates: ReadonlyMap<string, Template>, baseDir: string): Denial {
  const deny = route.deny;
  if (deny?.action === 'forward') return { action: 'forward' };
  const soft = deny?.mode === 'soft';
  if (deny?.action === 'redirect') return { action: 'redirect', status: deny.status ?? 302, url: deny.url ?? '/', returnParam: deny.returnParam ?? 'return', soft };
  const template = deny?.template === undefined ? defaultTemplate : templates.get(templatePath(baseDir, deny.template))!;
  return { action: 'paywall', status: deny?.status ?? 402, template, soft };
}

export function compileGateway(config: ConfigFile, file: string, templates: ReadonlyMap<string, Template>): GatewayModel | undefined {
  const gateway: GatewayConfig | undefined = config.gateway;
  if (gateway === undefined) return undefined;
  const baseDir = dirname(file);
  const defaultTemplate = templates.get(gateway.paywallTemplate === undefined ? defaultTemplateFile() : templatePath(baseDir, gateway.paywallTemplate))!;
  const routes = gateway.routes.map((route, index): GatewayRoute => {
    const compiled: GatewayRoute = {
      index,
      path: route.path,
      pattern: compilePattern(route.path, gateway.caseSensitive),
      consumeRefs: (route.consume ?? []).map(toConsumption),
      guarded: routeGuards(route, config.surfaces),
      denial: compileDenial(route, defaultTemplate, templates, baseDir),
    };
    const methods = compileMethods(route.methods);
    if (methods !== undefined) compiled.methods = methods;
    if (route.surface !== undefined) compiled.surface = route.surface;
    if (route.bypass !== undefined) compiled.bypass = route.bypass;
    if (route.resourceId !== undefined) compiled.resourceId = route.resourceId;
    if (route.bearer !== undefined) compiled.bearer = route.bearer;
    if (route.require !== undefined) compiled.requireRef = toConsumption(route.require);
    return compiled;
  });
  const model: GatewayModel = {
    file,
    listen: gateway.listen,
    upstream: gateway.upstream,
    routes,
    caseSensitive: gateway.caseSensitive,
    allowPathParameters: gateway.allowPathParameters,
    trustProxy: gateway.trustProxy,
    headerPrefix: gateway.headerPrefix,
    injectDecision: gateway.injectDecision,
    jwtCookie: gateway.jwtCookie,
    anonymousCookie: gateway.anonymousCookie,
    anonymousMetering: gateway.anonymousMetering,
    invalidJwt: gateway.invalidJwt,
    forwardCredentials: gateway.forwardCredentials,
    headerTimeoutMs: gateway.headerTimeoutMs,
    idleTimeoutMs: gateway.idleTimeoutMs,
    websockets: gateway.websockets,
  };
  if (gateway.signing !== undefined) model.signing = gateway.signing;
  return model;
}
