// One error catalogue (src/errors.ts): stable codes and their statuses, the API's table in docs/api.md
// generated from it.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { EngineError } from '../src/engine/errors.js';
import { ERROR_CODES, errorTable } from '../src/errors.js';

const START = '<!-- error-codes: generated from src/errors.ts -->';
const END = '<!-- /error-codes -->';

describe('error codes', () => {
  it('docs/api.md lists exactly the API codes of the catalogue', () => {
    const text = readFileSync('docs/api.md', 'utf8');
    const table = text.slice(text.indexOf(START) + START.length, text.indexOf(END)).trim();
    expect(text.indexOf(START)).toBeGreaterThan(0);
    expect(table).toBe(errorTable('api'));
  });

  it('every code is kebab-case with an HTTP error status', () => {
    for (const [code, info] of Object.entries(ERROR_CODES)) {
      expect(code).toMatch(/^[a-z]+(-[a-z]+)*$/);
      expect(info.status).toBeGreaterThanOrEqual(400);
    }
  });

  it('an engine error carries its code and the catalogue status', () => {
    const error = new EngineError('unknown-counter', 'unknown counterId');
    expect([error.code, error.status]).toEqual(['unknown-counter', 404]);
  });
});
