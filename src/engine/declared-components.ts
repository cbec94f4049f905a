// Components declared in YAML (docs/components.md "Components in YAML"): each one's condition is
// judged on the decision and, when it holds, its templates are rendered into the component's
// `content`, the same wire shape a component workflow returns.
import type { CompiledComponent, CompiledTemplate, ComponentCondition, DeclaredContent } from './model.js';
import type { TemplateValues } from './types.js';
import type { ComponentBehavior, ComponentContent, ContentInsertion, FeatureDecision } from './types.js';

export interface ConditionFacts {
  values: TemplateValues;
  features: Record<string, FeatureDecision>;
  plans: readonly string[];
}

export function conditionHolds(when: ComponentCondition, facts: ConditionFacts): boolean {
  const { values } = facts;
  if (when.denied !== undefined) {
    if (typeof when.denied === 'boolean' ? values.denied !== when.denied : values.reason !== when.denied) return false;
  }
  if (when.remainingBelow !== undefined && !(values.remaining !== null && values.remaining < when.remainingBelow)) return false;
  if (when.plans !== undefined && !when.plans.some((plan) => facts.plans.includes(plan))) return false;
  if (when.withoutPlans !== undefined && when.withoutPlans.some((plan) => facts.plans.includes(plan))) return false;
  if (when.property !== undefined) {
    const decided = facts.features[when.property.feature]?.properties[when.property.property];
    const value = decided === undefined ? undefined : decided.type === 'meterable' ? decided.hasAccess : decided.value;
    if (value !== when.property.equals) return false;
  }
  return true;
}

const render = (templates: readonly CompiledTemplate[], values: TemplateValues): ContentInsertion[] =>
  templates.map((template) => ({ type: 'html', content: template.render(values) }));

export function renderContent(content: DeclaredContent, values: TemplateValues): ComponentContent {
  const out: ComponentContent = {};
  if (content.before) out.before = render(content.before, values);
  if (content.prepend) out.prepend = render(content.prepend, values);
  if (content.append) out.append = render(content.append, values);
  if (content.after) out.after = render(content.after, values);
  if (content.remove !== undefined) out.remove = content.remove;
  if (content.replaceRange) {
    const { fromMarker, toMarker, replaceWith } = content.replaceRange;
    out.replaceRange = {};
    if (fromMarker !== undefined) out.replaceRange.fromMarker = fromMarker;
    if (toMarker !== undefined) out.replaceRange.toMarker = toMarker;
    if (replaceWith) out.replaceRange.replaceWith = render(replaceWith, values);
  }
  return out;
}

/** A declared component's behaviour: its selector always, its content when its condition holds. */
export function declaredBehavior(component: CompiledComponent, facts: ConditionFacts): ComponentBehavior {
  const behavior: ComponentBehavior = { metadata: { cssSelector: component.selector } };
  const declared = component.declared;
  if (declared !== undefined && conditionHolds(declared.when, facts)) behavior.content = renderContent(declared.content, facts.values);
  return behavior;
}
