#!/usr/bin/env -S node --no-memory-reducer --min-semi-space-size=32 --max-semi-space-size=32
// The node flags are the Dockerfile's (docs/operations.md, "Runtime flags"; a test keeps them equal).
// In a development checkout (src/ and tsx present) runs the TypeScript sources through tsx, so a
// dist/ left by `npm run build` never runs stale code; in an installed package, the built CLI (dist/).
import { existsSync } from 'node:fs';

const source = new URL('../src/cli/main.ts', import.meta.url);
const built = new URL('../dist/cli/main.js', import.meta.url);

async function tsx() {
  try {
    return await import('tsx/esm/api');
  } catch {
    return undefined;
  }
}

const loader = existsSync(source) ? await tsx() : undefined;
if (loader !== undefined) {
  loader.register();
  await import(source.href);
} else if (existsSync(built)) {
  await import(built.href);
} else {
  process.stderr.write('plangate: no built CLI (dist/cli/main.js) and no TypeScript sources to run: run `npm run build`\n');
  process.exit(1);
}
