// The burst acceptance checks shared by the API, gateway and Cluster files: two real plangate
// processes over one store, bursts sent to one of them or to both, every user granted exactly the
// meter's limit, nothing degraded or shed, and no warning or error logged by either process.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startBurstRig, type BurstKind, type BurstOutcome, type BurstRig, type BurstStore } from '../support/burst-scenarios.js';

export function expectExact(outcome: BurstOutcome): void {
  // The whole outcome on failure says what went wrong (over-grants, degraded, shed, events).
  expect(outcome, JSON.stringify(outcome)).toMatchObject({
    overGranted: 0,
    underGranted: 0,
    degraded: 0,
    shed: 0,
    errors: 0,
    errorSamples: [],
    events: {},
    exact: true,
  });
}

/** A burst: this many requests (users x 10, a limit of 3) at once, to this many processes. */
export interface BurstCase {
  requests: number;
  processes: 1 | 2;
}

/** Registers one rig's tests: the bursts in order, then the processes' logs checked once they have exited. */
export function burstSuite(options: { kind: BurstKind; store: () => BurstStore; keyPrefix: () => string; bursts: readonly BurstCase[] }): void {
  let rig: BurstRig;
  beforeAll(async () => {
    rig = await startBurstRig({ kind: options.kind, processes: 2, store: options.store(), keyPrefix: options.keyPrefix() });
  });
  afterAll(async () => {
    await rig?.close();
  });

  for (const { requests, processes } of options.bursts) {
    it(`${requests} requests at once (${requests / 10} users x 10, limit 3) to ${processes === 1 ? 'one process' : 'two processes'}: exact`, async () => {
      expectExact(await rig.burst(requests / 10, 10, processes));
      // A burst of 3,000 took 15-19 s on this 2-core machine under a load of 11 and passed 20 s at 19:
      // the time is measured elsewhere (docs/performance.md), only the outcome is asserted.
    }, 20_000 + requests * 20);
  }

  it('no process logged a warning or an error (store-*, workflow-*, anything)', async () => {
    await rig.close();
    expect(rig.problems()).toEqual([]);
  });
}

/** 400 and 3,000 at once, to one process and to two. */
export const ACCEPTANCE_BURSTS: readonly BurstCase[] = [
  { requests: 400, processes: 1 },
  { requests: 3000, processes: 1 },
  { requests: 400, processes: 2 },
  { requests: 3000, processes: 2 },
];
