// The burst acceptance checks shared by the API and gateway files: a rig of real plangate processes
// over one Redis, a burst of 400 and one of 3,000 requests at once, every user granted exactly the
// meter's limit, nothing degraded or shed, and no warning or error logged by any process.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startBurstRig, type BurstKind, type BurstOutcome, type BurstRig, type BurstStore } from '../support/burst-scenarios.js';

export function expectExact(outcome: BurstOutcome): void {
  // The whole outcome on failure says what went wrong (over-grants, degraded, shed, events).
  expect(outcome, JSON.stringify(outcome)).toMatchObject({ overGranted: 0, underGranted: 0, degraded: 0, shed: 0, errors: 0, events: {}, exact: true });
}

/** Registers one rig's tests: bursts of each size in order, then the processes' logs checked once stopped. */
export function burstSuite(options: { kind: BurstKind; processes: number; store: () => BurstStore; keyPrefix: () => string; sizes: readonly number[] }): void {
  let rig: BurstRig;
  beforeAll(async () => {
    rig = await startBurstRig({ kind: options.kind, processes: options.processes, store: options.store(), keyPrefix: options.keyPrefix() });
  });
  afterAll(async () => {
    await rig?.close();
  });

  for (const size of options.sizes) {
    it(`${size} requests at once (${size / 10} users x 10, limit 3) against ${options.processes} process(es): exact`, async () => {
      expectExact(await rig.burst(size / 10, 10));
    });
  }

  it('no process logged a warning or an error (store-*, workflow-*, anything)', async () => {
    await rig.close();
    expect(rig.problems()).toEqual([]);
  });
}
