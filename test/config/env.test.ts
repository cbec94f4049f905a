import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { expand } from '../../src/config/env.js';
import { loadConfig } from '../../src/config/load.js';

describe('expand', () => {
  it.each([
    ['${A}', { A: 'x' }, 'x'],
    ['pre-${A}-post', { A: 'x' }, 'pre-x-post'],
    ['${A:-dflt}', {}, 'dflt'],
    ['${A:-dflt}', { A: '' }, 'dflt'],
    ['${A:-dflt}', { A: 'set' }, 'set'],
    ['${A:-}', {}, ''],
    ['${A}', { A: '' }, ''],
    ['${A:-with:colons-and spaces}', {}, 'with:colons-and spaces'],
    ['$${A} stays', { A: 'x' }, '${A} stays'],
    ['${A}${B}', { A: '1', B: '2' }, '12'],
    ['no references', {}, 'no references'],
  ])('%s with %j → %j', (text, env, expected) => {
    expect(expand(text, env)).toEqual({ ok: true, value: expected });
  });

  it('refuses an unset variable, saying how to set it', () => {
    expect(expand('${MISSING}', {})).toEqual({
      ok: false,
      message: 'environment variable MISSING is not set: set it (export MISSING=...) or write ${MISSING:-default} for a default',
    });
  });

  it('refuses malformed and unterminated references', () => {
    expect(expand('${not a name}', {})).toMatchObject({ ok: false, message: expect.stringMatching(/^malformed reference/) });
    expect(expand('${A', { A: 'x' })).toMatchObject({ ok: false, message: expect.stringMatching(/^unterminated/) });
  });

  it('does not look up names on the prototype chain', () => {
    expect(expand('${constructor}', {})).toMatchObject({ ok: false });
  });
});

describe('substitution in the parsed document', () => {
  const write = (yaml: string): string => {
    const file = join(mkdtempSync(join(tmpdir(), 'plangate-env-')), 'config.yaml');
    writeFileSync(file, yaml);
    return file;
  };

  it('substitutes values, never structure: a value full of YAML stays one string', async () => {
    const file = write('version: 1\nfeatures: {}\nplans:\n  p:\n    name: ${NAME}\nsurfaces: {}\n');
    const model = await loadConfig(file, { env: { NAME: 'x\nassign: anonymous' } });
    expect(model.planBySlug.get('p')).toMatchObject({ name: 'x\nassign: anonymous', assign: 'none' });
  });

  it('keeps a quoted reference a string and types an unquoted one', async () => {
    const file = write('version: 1\nfeatures: {}\nplans:\n  p:\n    name: "${N}"\nsurfaces: {}\nworkflows:\n  timeoutMs: ${N}\n');
    const model = await loadConfig(file, { env: { N: '120' } });
    expect(model.planBySlug.get('p')!.name).toBe('120');
    expect(model.workflowTimeoutMs).toBe(120);
  });
});
