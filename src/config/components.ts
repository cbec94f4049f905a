// Components in the config, on surfaces and on routes: the rules (a selector and markers the
// gateway can apply while a page streams, one template source per insertion, conditions that name
// what exists) and the compilation into the engine's CompiledComponent, templates compiled.
import type { CompiledComponent, CompiledTemplate, ComponentCondition, DeclaredContent, LoadedWorkflow } from '../engine/model.js';
import type { ComponentWorkflow } from '../engine/workflows/types.js';
import { checkComponentSelector, selectorProblem } from '../engine/components/selectors.js';
import type { IssueCollector, KeyPath } from './locate.js';
import type { ConditionConfig, ConfigFile, FeatureConfig, InsertionConfig, RouteComponentConfig } from './schema.js';
import { declaredComponents, insertionList, insertionsOf, insertionTemplateAt, templateKey, type Templates } from './templates.js';

const OPERATION_KEYS = ['before', 'prepend', 'append', 'after', 'remove', 'replaceRange'] as const;

/** Whether a component declares operations (it is then a declared component, applied by the engine). */
export const hasOperations = (component: RouteComponentConfig) => OPERATION_KEYS.some((key) => component[key] !== undefined);

export function checkComponents(config: ConfigFile, issues: IssueCollector): void {
  for (const { component, at } of declaredComponents(config)) {
    // The edge proxies skip such a component on every page; plangate refuses it here, once.
    const selector = checkComponentSelector(component.selector);
    if (selector !== undefined) issues.add([...at, 'selector'], selector, { expected: 'a selector lol-html can stream (docs/components.md "Selectors")' });
    for (const marker of ['fromMarker', 'toMarker'] as const) {
      const value = component.replaceRange?.[marker];
      const problem = value === undefined ? undefined : selectorProblem(value);
      if (problem !== undefined) issues.add([...at, 'replaceRange', marker], `the marker cannot be applied to a streaming page: ${problem}`);
    }
    if ('workflow' in component && component.workflow !== undefined && (hasOperations(component) || component.when !== undefined))
      issues.add(
        [...at, 'workflow'],
        'a component has a workflow or declared operations (when, prepend, replaceRange ...), not both: the workflow returns its content',
      );
    if (component.when !== undefined && !hasOperations(component))
      issues.add([...at, 'when'], 'a condition without an operation does nothing: add prepend, append, before, after, remove or replaceRange');
    for (const { insertion, at: where } of insertionsOf(component, at)) checkInsertion(insertion, where, issues);
    if (component.when !== undefined) checkCondition(component.when, [...at, 'when'], config, issues);
  }
}

function checkInsertion(insertion: InsertionConfig, at: KeyPath, issues: IssueCollector): void {
  if ((insertion.template === undefined) === (insertion.html === undefined))
    issues.add(at, 'an insertion needs exactly one of template (a file) or html (inline HTML)', { expected: '{ template: file } or { html: "..." }' });
}

function checkCondition(when: ConditionConfig, at: KeyPath, config: ConfigFile, issues: IssueCollector): void {
  if (when.property !== undefined) {
    const [feature, property] = when.property.split('.');
    const declared: FeatureConfig | undefined = Object.hasOwn(config.features, feature) ? config.features[feature] : undefined;
    if (declared === undefined) issues.add([...at, 'property'], `unknown feature '${feature}'; declared features: ${Object.keys(config.features).join(', ')}`);
    else if (property !== 'enabled' && !Object.hasOwn(declared.properties ?? {}, property))
      issues.add([...at, 'property'], `feature '${feature}' has no property '${property}'`);
    if (when.equals === undefined)
      issues.add([...at, 'property'], 'a property condition needs `equals` (the value, or true/false for a meterable property: has access)');
  } else if (when.equals !== undefined) issues.add([...at, 'equals'], '`equals` needs `property` (feature.property)');
  for (const key of ['plans', 'withoutPlans'] as const) {
    when[key]?.forEach((plan, i) => {
      if (!Object.hasOwn(config.plans, plan))
        issues.add([...at, key, i], `unknown plan '${plan}'; declared plans: ${Object.keys(config.plans).join(', ')}`, {
          expected: Object.keys(config.plans).join(', '),
        });
    });
  }
}

function compileCondition(when: ConditionConfig | undefined): ComponentCondition {
  const out: ComponentCondition = {};
  if (when === undefined) return out;
  if (when.denied !== undefined) out.denied = when.denied;
  if (when.property !== undefined) {
    const [feature, property] = when.property.split('.');
    out.property = { feature, property, equals: when.equals ?? null };
  }
  if (when.remainingBelow !== undefined) out.remainingBelow = when.remainingBelow;
  if (when.plans !== undefined) out.plans = when.plans;
  if (when.withoutPlans !== undefined) out.withoutPlans = when.withoutPlans;
  return out;
}

/** A component (declared, or with a workflow, or only a selector) as the engine runs it. */
export function compileComponent(
  slug: string,
  component: RouteComponentConfig,
  at: KeyPath,
  templates: Templates,
  workflow?: LoadedWorkflow<ComponentWorkflow>,
): CompiledComponent {
  const compiled: CompiledComponent = { slug, selector: component.selector };
  if (workflow !== undefined) compiled.workflow = workflow;
  if (!hasOperations(component)) return compiled;
  const list = (value: InsertionConfig | InsertionConfig[] | undefined, path: KeyPath): CompiledTemplate[] | undefined =>
    value === undefined ? undefined : insertionList(value, path).map((located) => templates.get(templateKey(insertionTemplateAt(located)))!);
  const content: DeclaredContent = {};
  for (const op of ['before', 'prepend', 'append', 'after'] as const) {
    const templatesOf = list(component[op], [...at, op]);
    if (templatesOf !== undefined) content[op] = templatesOf;
  }
  if (component.remove !== undefined) content.remove = component.remove;
  if (component.replaceRange !== undefined) {
    const { fromMarker, toMarker, replaceWith } = component.replaceRange;
    content.replaceRange = {};
    if (fromMarker !== undefined) content.replaceRange.fromMarker = fromMarker;
    if (toMarker !== undefined) content.replaceRange.toMarker = toMarker;
    const replacement = list(replaceWith, [...at, 'replaceRange', 'replaceWith']);
    if (replacement !== undefined) content.replaceRange.replaceWith = replacement;
  }
  compiled.declared = { when: compileCondition(component.when), content };
  return compiled;
}
