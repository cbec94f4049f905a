// Every candidate, in the order of the table and of each round.
import { direct, expressHpm, rawProxy } from './baselines.js';
import { forwardAuthCandidates } from './forward-auth.js';
import { nginx } from './nginx.js';
import { plangateCandidates } from './plangate.js';
import type { Candidate } from './types.js';

export const CANDIDATES: readonly Candidate[] = [direct, rawProxy, expressHpm, nginx, ...plangateCandidates, ...forwardAuthCandidates];
