// The flood budget for new anonymous ids (docs/redis.md, "Anonymous floods"). Each new id costs Redis
// a visitor's worth of keys for as long as they are kept, so the gateway asks the store before it
// mints one: at most `perNetwork` new ids per client network and `total` for all networks per
// window, counted in the store and so shared by every instance. Over budget the visitor is metered
// under their network's id, as `anonymousMetering: cookie+ip` does: never a fresh, free meter.
// Returning visitors (a valid cookie) never get here: they keep one store call per request.
import type { EventLogger } from '../../events.js';
import { StoreUnavailableError, type MeterStore } from '../meters/store.js';

export interface NewIdSettings {
  perNetwork: number;
  total: number;
  windowSeconds: number;
}

/** Counts for /metrics and the rate-limited log; one object per process, kept across reloads. */
export class NewIdBudget {
  allowed = 0;
  refused = 0;
  private loggedAt = 0;
  private refusedSinceLog = 0;

  /** Whether the network may have one more new id now; false when a budget is spent or the store cannot tell. */
  async allow(store: MeterStore, networkId: string, settings: NewIdSettings, logger: EventLogger | undefined): Promise<boolean> {
    let allowed: boolean;
    try {
      allowed = await store.allowNewId({
        networkId,
        now: Date.now(),
        perNetwork: settings.perNetwork,
        total: settings.total,
        windowMs: settings.windowSeconds * 1000,
      });
    } catch (err) {
      if (!(err instanceof StoreUnavailableError)) throw err;
      // The store is down: the decision that follows applies the failure policy; no new keys meanwhile.
      logger?.event('error', err.code, { message: err.message, operation: 'new-anonymous-id' });
      allowed = false;
    }
    if (allowed) {
      this.allowed++;
      return true;
    }
    this.refused++;
    this.refusedSinceLog++;
    const now = Date.now();
    // One line a second at most: a flood is many requests.
    if (now - this.loggedAt >= 1_000) {
      logger?.event('warn', 'anonymous-budget-spent', { refused: this.refusedSinceLog, perNetwork: settings.perNetwork, total: settings.total });
      this.loggedAt = now;
      this.refusedSinceLog = 0;
    }
    return false;
  }
}
