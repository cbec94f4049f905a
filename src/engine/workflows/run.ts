import type { EventLogger } from '../../events.js';
// Running operator workflows in-process with a time budget on their asynchronous work. When the
// budget runs out the workflow's feature handles are revoked (a later consume() rejects and records
// nothing) and the decision goes on without its result; they are revoked as well when the workflow
// returns or throws. Synchronous runaway code cannot be interrupted in-process (documented in
// docs/workflows.md).

export class RevokedHandleError extends Error {
  constructor() {
    super('this workflow has finished or ran out of its time budget: its feature handles are revoked and record nothing');
    this.name = 'RevokedHandleError';
  }
}

/** A revocation flag shared by the handles given to one workflow run. */
export class Revocation {
  revoked = false;
  check(): void {
    if (this.revoked) throw new RevokedHandleError();
  }
}

export type WorkflowOutcome<T> = { ok: true; value: T } | { ok: false; code: 'workflow-error' | 'workflow-timeout' };

export async function runWorkflow<I, T>(
  run: (input: I) => T | Promise<T>,
  input: I,
  options: { file: string; kind: string; timeoutMs: number; revocation: Revocation; logger?: EventLogger },
): Promise<WorkflowOutcome<Awaited<T>>> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), options.timeoutMs);
  });
  try {
    const result = await Promise.race([Promise.resolve().then(() => run(input)), timeout]);
    if (result === 'timeout') {
      options.logger?.event('error', 'workflow-timeout', { workflow: options.file, kind: options.kind, timeoutMs: options.timeoutMs });
      return { ok: false, code: 'workflow-timeout' };
    }
    return { ok: true, value: result as Awaited<T> };
  } catch (err) {
    options.logger?.event('error', 'workflow-error', { workflow: options.file, kind: options.kind, error: err instanceof Error ? err.message : String(err) });
    return { ok: false, code: 'workflow-error' };
  } finally {
    clearTimeout(timer);
    // The decision is built from what the workflow did until now: a consume() it left behind for
    // later (a timer, an un-awaited chain) must not record outside any decision.
    options.revocation.revoked = true;
  }
}
