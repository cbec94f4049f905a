// Components at the gateway (docs/components.md): a decision's component behaviours applied to HTML
// as it streams, the checks of a workflow's output, and the helpers for compressed and non-UTF-8 pages.
export {
  checkComponentBehavior,
  checkComponentContent,
  checkHttpBehavior,
  checkWorkflowOutput,
  type Checked,
  type CheckedOutput,
  type OutputProblem,
} from './validate.js';
export { checkComponentSelector, selectorProblem, scopedSelector, splitSelectorList } from './selectors.js';
export { renderInsertion, renderInsertions, escapeText } from './render.js';
