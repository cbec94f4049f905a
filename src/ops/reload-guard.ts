// What a reload may not change: the addresses the process listens on, the upstream the proxy was
// built for, and the store connection (a reload keeps the running one). Each change found is one
// message that says what changed and what to do instead.
import { isDeepStrictEqual } from 'node:util';
import type { LoadedConfig } from '../config/load.js';
import type { CompiledComponent, Model } from '../engine/model.js';
import { gatewayChanges, unreloadable } from '../gateway/reloadable.js';

/** Every change `next` makes that a reload cannot apply; the gateway's part is the gateway's own rule. */
export function unreloadableChanges(running: LoadedConfig, next: LoadedConfig): string[] {
  const problems = gatewayChanges(running.gateway, next.gateway);
  const changed = (what: string, before: unknown, after: unknown, why: string) => {
    if (!isDeepStrictEqual(before, after)) problems.push(unreloadable(what, why));
  };
  changed('server.api', running.server.api, next.server.api, 'listener addresses are not reloadable');
  changed('server.ops', running.server.ops, next.server.ops, 'listener addresses are not reloadable');
  changed(
    'api.adminOnGatewayMount',
    running.api.adminOnGatewayMount,
    next.api.adminOnGatewayMount,
    'whether the gateway mount has the admin endpoints is set when the gateway starts',
  );
  changed('server.workers', running.server.workers, next.server.workers, 'the worker processes are started once; restart to change their number');
  changed('server.maxBodyBytes', running.server.maxBodyBytes, next.server.maxBodyBytes, 'the API body limit is set when the API starts');
  changed(
    'apiKeys',
    running.apiKeys.length > 0,
    next.apiKeys.length > 0,
    'the decision API listener starts only when the config at start declares apiKeys (adding or removing all of them needs a restart; changing them reloads)',
  );
  // failurePolicy and grants are read per decision: they reload. Everything else in `store` shapes the connection.
  const connection = (m: Model) => ({
    redis: m.store.redis,
    anonymousRetentionDays: m.store.anonymousRetentionDays,
    memoryMaxVisitors: m.store.memoryMaxVisitors,
  });
  changed('store', connection(running), connection(next), 'the store connection is not reloadable (only store.failurePolicy and store.grants are)');
  return problems;
}

function addTemplateFiles(files: Set<string>, component: CompiledComponent): void {
  const content = component.declared?.content;
  if (content === undefined) return;
  for (const template of [content.before, content.prepend, content.append, content.after, content.replaceRange?.replaceWith].flat())
    if (template?.file !== undefined) files.add(template.file);
}

/** The files a change to which should trigger a reload: the YAML and every workflow and template it names. */
export function watchedFiles(model: LoadedConfig): string[] {
  const files = new Set<string>([model.file]);
  for (const surface of model.surfaces.values()) {
    if (surface.workflow) files.add(surface.workflow.file);
    for (const component of surface.components) {
      if (component.workflow) files.add(component.workflow.file);
      addTemplateFiles(files, component);
    }
  }
  for (const workflow of model.provisioning.workflows) files.add(workflow.file);
  for (const route of model.gateway?.routes ?? []) {
    if (route.denial.action === 'paywall' && route.denial.template.file !== undefined) files.add(route.denial.template.file);
    for (const component of route.components) addTemplateFiles(files, component);
  }
  return [...files];
}
