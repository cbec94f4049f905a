// Loads a workflow file (TypeScript or JavaScript) and returns its default export. jiti compiles it
// on the fly with both of its caches off, so that a reload sees changed files. Two settings make
// that hold for plain `.js` ES modules too, which jiti would otherwise hand to Node's native
// import (whose cache never forgets): we pass the source with `forceTranspile`, and evaluate
// synchronously, so that the files it imports are compiled by jiti as well. The price: a workflow
// file cannot use top-level `await`.
import { readFile } from 'node:fs/promises';
import { createJiti } from 'jiti';
import type { LoadedWorkflow } from '../model.js';

export type WorkflowLoadResult<F> =
  { ok: true; workflow: LoadedWorkflow<F> } | { ok: false; reason: 'not-found' | 'load-failed' | 'no-default-export'; message: string };

/** Loads `file` (an absolute path). Never throws: a failure says why, for the config error. */
export async function loadWorkflow<F>(file: string): Promise<WorkflowLoadResult<F>> {
  let source: string;
  try {
    source = await readFile(file, 'utf8');
  } catch {
    return { ok: false, reason: 'not-found', message: `workflow file not found: ${file}` };
  }
  let module: unknown;
  try {
    const jiti = createJiti(import.meta.url, { moduleCache: false, fsCache: false });
    module = await jiti.evalModule(source, { filename: file, async: false, forceTranspile: true });
  } catch (error) {
    const reason = error instanceof Error ? error.message.split('\n')[0].trim() : String(error);
    return { ok: false, reason: 'load-failed', message: `could not load workflow ${file}: ${reason}` };
  }
  const run = module !== null && typeof module === 'object' ? (module as { default?: unknown }).default : undefined;
  if (typeof run !== 'function') {
    return {
      ok: false,
      reason: 'no-default-export',
      message: `workflow ${file} has no default export that is a function: end it with \`export default workflow;\``,
    };
  }
  return { ok: true, workflow: Object.freeze({ file, run: run as F }) };
}
