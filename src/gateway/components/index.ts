// Components at the gateway (docs/components.md): a decision's component behaviours applied to HTML
// as it streams, the checks of a workflow's output, and the helpers for compressed and non-UTF-8 pages.
export {
  ComponentCutError,
  createComponentTransform,
  DEFAULT_HOLD_LIMIT_BYTES,
  DEFAULT_PENDING_TAG_LIMIT_BYTES,
  type ComponentTransform,
  type ComponentTransformOptions,
  type CutFailure,
  type TransformProblem,
  type TransformReady,
  type TransformReport,
} from './transform.js';
export {
  checkComponentBehavior,
  checkComponentContent,
  checkHttpBehavior,
  checkWorkflowOutput,
  type Checked,
  type CheckedOutput,
  type OutputProblem,
} from '../../engine/components/check-output.js';
export { checkComponentSelector, selectorProblem, scopedSelector, splitSelectorList } from '../../engine/components/selectors.js';
export { renderInsertion, renderInsertions, escapeText } from './render.js';
export { pageCharset, charsetLabel, type PageCharset } from './charset.js';
export { contentCodings, decodableAcceptEncoding, decoders, responseCoding, responseEncoder, type Coding } from './content-coding.js';
export { rewriterMemoryBytes } from './rewriter.js';
