// Provisioning: plans assigned from the identity by declarative rules and by workflows. Runs after
// identity and before features; unknown slugs, errors and timeouts are logged and counted, and the
// decision uses the rest.
import type { EventLogger } from '../events.js';
import type { Model, ProvisioningRule } from './model.js';
import type { WorkflowIdentity } from './workflows/types.js';
import { Revocation, runWorkflow } from './workflows/run.js';

/** A rule matches on the claim's own value only: never through the prototype chain. */
export function ruleMatches(rule: ProvisioningRule, claims: Record<string, unknown>): boolean {
  const present = Object.hasOwn(claims, rule.claim);
  const value = present ? claims[rule.claim] : undefined;
  if (rule.exists !== undefined) return rule.exists === (present && value !== undefined);
  if (!present) return false;
  if (rule.oneOf !== undefined) return rule.oneOf.some((candidate) => candidate === value);
  return value === rule.equals;
}

/** Plan slugs the declarative rules assign from the claims (synchronous: no workflow runs). */
export function plansFromRules(rules: readonly ProvisioningRule[], claims: Record<string, unknown>): string[] {
  const slugs: string[] = [];
  for (const rule of rules) if (ruleMatches(rule, claims)) slugs.push(...rule.plans);
  return slugs;
}

/** Plan slugs the provisioning workflows return; a failing workflow or an unknown slug is logged and left out. */
export async function plansFromWorkflows(
  model: Model,
  /** Built only when a provisioning workflow runs (rules need the claims alone). */
  workflowIdentity: () => WorkflowIdentity,
  env: Record<string, string | undefined>,
  logger?: EventLogger,
): Promise<string[]> {
  const { workflows } = model.provisioning;
  const slugs: string[] = [];
  const identity = workflowIdentity();
  const outcomes = await Promise.all(
    workflows.map((wf) =>
      runWorkflow(wf.run, { identity, env }, { file: wf.file, kind: 'provisioning', timeoutMs: model.workflowTimeoutMs, revocation: new Revocation(), logger }),
    ),
  );
  outcomes.forEach((outcome, i) => {
    if (!outcome.ok) return;
    const value: unknown = outcome.value;
    if (!Array.isArray(value)) {
      logger?.event('error', 'provisioning-bad-result', {
        workflow: workflows[i].file,
        message: 'a provisioning workflow must return an array of plan slugs',
      });
      return;
    }
    for (const slug of value) {
      if (typeof slug === 'string' && model.planBySlug.has(slug)) slugs.push(slug);
      else logger?.event('warn', 'provisioning-unknown-plan', { workflow: workflows[i].file, plan: String(slug) });
    }
  });
  return slugs;
}
