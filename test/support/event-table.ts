// The event-code table of docs/operations.md is generated from the catalogue (src/events.ts): it sits
// between two markers, and `npx tsx test/support/event-table.ts` rewrites it after a code changes.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { eventTable } from '../../src/events.js';

export const OPERATIONS_DOC = fileURLToPath(new URL('../../docs/operations.md', import.meta.url));
const START = '<!-- event-codes: generated from src/events.ts by test/support/event-table.ts -->';
const END = '<!-- /event-codes -->';

/** The table as the doc carries it now, or undefined when the markers are missing. */
export function documentedTable(text = readFileSync(OPERATIONS_DOC, 'utf8')): string | undefined {
  const start = text.indexOf(START);
  const end = text.indexOf(END);
  return start === -1 || end < start ? undefined : text.slice(start + START.length, end).trim();
}

export function writeTable(): void {
  const text = readFileSync(OPERATIONS_DOC, 'utf8');
  const start = text.indexOf(START);
  const end = text.indexOf(END);
  if (start === -1 || end < start) throw new Error(`${OPERATIONS_DOC}: the event-code markers are missing`);
  writeFileSync(OPERATIONS_DOC, `${text.slice(0, start + START.length)}\n${eventTable()}\n${text.slice(end)}`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) writeTable();
