// Every candidate, in the order of the table and of each round; and a candidate from another checkout.
import { join, resolve } from 'node:path';
import { direct, expressHpm, rawProxy } from './baselines.js';
import { forwardAuthCandidates } from './forward-auth.js';
import { nginx } from './nginx.js';
import { plangateCandidates } from './plangate.js';
import type { Candidate } from './types.js';

export const CANDIDATES: readonly Candidate[] = [direct, rawProxy, expressHpm, nginx, ...plangateCandidates, ...forwardAuthCandidates];

/** The same candidate started from another checkout (its code, its configs), for before/after runs side by side. */
export function fromCheckout(candidate: Candidate, root: string): Candidate {
  const dir = resolve(root);
  return {
    ...candidate,
    name: `${candidate.name}@baseline`,
    description: `${candidate.description} (from ${dir})`,
    // Its own temp dir: the candidate writes its config under <tmpDir>/<name>.
    start: (ctx) => candidate.start({ ...ctx, root: dir, tmpDir: join(ctx.tmpDir, 'baseline') }),
  };
}
