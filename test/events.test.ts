// The event catalogue (src/events.ts) is the one list of codes: the docs table is generated from it,
// the metrics take their counters from it, and the loggers' type admits its codes only.
import { describe, expect, it } from 'vitest';
import { codesOf, EVENTS, eventTable } from '../src/events.js';
import { documentedTable } from './support/event-table.js';

describe('event codes', () => {
  it('docs/operations.md lists exactly the catalogue (run `npx tsx test/support/event-table.ts` after changing a code)', () => {
    expect(documentedTable()).toBe(eventTable());
  });

  it('every code is kebab-case and described', () => {
    for (const [code, info] of Object.entries(EVENTS)) {
      expect(code).toMatch(/^[a-z]+(-[a-z]+)*$/);
      expect(info.description.length).toBeGreaterThan(20);
    }
  });

  it('the store-error metric is labelled by the store failure codes', () => {
    expect(codesOf('store-errors')).toEqual(['store-timeout', 'store-unreachable', 'store-error']);
  });
});
