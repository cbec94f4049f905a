import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadWorkflow } from '../../../src/engine/workflows/load.js';

const fixture = (name: string) => resolve('test/fixtures/configs', name);

/** A scratch directory that, like the repository, makes `.js` files ES modules (Node would cache those natively). */
function moduleDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'plangate-workflow-'));
  writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n');
  return dir;
}

async function loaded<F>(file: string): Promise<F> {
  const result = await loadWorkflow<F>(file);
  if (!result.ok) throw new Error(result.message);
  return result.workflow.run;
}

describe('loadWorkflow', () => {
  it('loads a TypeScript workflow written against the ambient types', async () => {
    const run = await loaded<(input: { identity: { jwtClaims: Record<string, unknown> } }) => Promise<string[]>>(fixture('good/workflows/provisioning.ts'));
    expect(await run({ identity: { jwtClaims: { premium: true } } })).toEqual(['premium']);
    expect(await run({ identity: { jwtClaims: {} } })).toEqual([]);
  });

  it('loads a JavaScript workflow', async () => {
    const run = await loaded<(input: { identity: { identifier: string } }) => Promise<unknown>>(fixture('good/workflows/surface.js'));
    expect(await run({ identity: { identifier: 'test@example.com' } })).toEqual({ properties: { userMessage: 'Hello, test@example.com' } });
  });

  it.each(['ts', 'js'])('re-reads a changed .%s file on the next load', async (ext) => {
    const file = join(moduleDir(), `workflow.${ext}`);
    writeFileSync(file, "export default () => 'first';\n");
    expect((await loaded<() => string>(file))()).toBe('first');
    writeFileSync(file, "export default () => 'second';\n");
    expect((await loaded<() => string>(file))()).toBe('second');
  });

  it('re-reads the files a workflow imports, JavaScript and TypeScript', async () => {
    const dir = moduleDir();
    const file = join(dir, 'workflow.ts');
    writeFileSync(file, "import { a } from './a.js';\nimport { b } from './b.ts';\nexport default () => a + b;\n");
    writeFileSync(join(dir, 'a.js'), "export const a = 'a1';\n");
    writeFileSync(join(dir, 'b.ts'), "export const b: string = 'b1';\n");
    expect((await loaded<() => string>(file))()).toBe('a1b1');
    writeFileSync(join(dir, 'a.js'), "export const a = 'a2';\n");
    writeFileSync(join(dir, 'b.ts'), "export const b: string = 'b2';\n");
    expect((await loaded<() => string>(file))()).toBe('a2b2');
  });

  it('says why a file cannot be used', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'plangate-workflow-'));
    writeFileSync(join(dir, 'broken.ts'), 'export default (;\n');
    writeFileSync(join(dir, 'object.js'), 'export default { notAFunction: true };\n');
    writeFileSync(join(dir, 'throws.js'), "throw new Error('boom at import');\n");
    expect(await loadWorkflow(join(dir, 'absent.ts'))).toEqual({ ok: false, reason: 'not-found', message: `workflow file not found: ${join(dir, 'absent.ts')}` });
    expect(await loadWorkflow(join(dir, 'broken.ts'))).toMatchObject({ ok: false, reason: 'load-failed' });
    expect(await loadWorkflow(join(dir, 'throws.js'))).toMatchObject({ ok: false, reason: 'load-failed', message: expect.stringContaining('boom at import') });
    expect(await loadWorkflow(join(dir, 'object.js'))).toMatchObject({ ok: false, reason: 'no-default-export' });
    expect(await loadWorkflow(fixture('broken/workflows/no-default.ts'))).toMatchObject({ ok: false, reason: 'no-default-export' });
  });
});
