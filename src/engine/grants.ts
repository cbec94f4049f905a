// Plan grants in decisions (docs/admin.md): which plans a visitor was granted, as this process last
// saw them. A decision assumes the cached grants, and its one store call checks the assumption
// (meters/store.ts `MeterCall.grants`): only a visitor whose grants changed since this process last
// saw them costs a second call.
import { LRUCache } from 'lru-cache';
import { grantActive } from './meters/semantics.js';
import type { Grant, Visitor } from './meters/store.js';

const NONE: readonly Grant[] = Object.freeze([]);

export class GrantCache {
  /** Only visitors with grants are kept: absence means none (most visitors, and every anonymous flood). */
  private readonly known = new LRUCache<string, readonly Grant[]>({ max: 10_000 });

  assumed(visitor: Visitor): readonly Grant[] {
    return this.known.get(`${visitor.userType}:${visitor.identifier}`) ?? NONE;
  }

  /** What the store said (unexpired grants at the call's time). */
  learn(visitor: Visitor, grants: readonly Grant[]): void {
    const key = `${visitor.userType}:${visitor.identifier}`;
    if (grants.length === 0) this.known.delete(key);
    else this.known.set(key, grants);
  }
}

/** The grants in effect at `now`. */
export function activeGrants(grants: readonly Grant[], now: number): readonly Grant[] {
  return grants.every((g) => grantActive(g, now)) ? grants : grants.filter((g) => grantActive(g, now));
}

/** The sorted plan slugs a store call assumes granted. */
export function assumption(grants: readonly Grant[]): string[] {
  return grants.map((g) => g.plan).sort();
}
