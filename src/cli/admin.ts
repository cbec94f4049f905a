// `plangate grant|revoke|grants|meters|forget` (docs/admin.md): the engine's admin functions, the
// same the admin API calls, on the store the config names. Results go to stdout as JSON; logs (the
// store's, the audit line) go to stderr.
import { readFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import type { IdentityInput } from '../engine/engine.js';
import { EngineError } from '../engine/errors.js';
import type { Visitor } from '../engine/meters/store.js';
import type { LoadedConfig } from '../config/load.js';
import { createLogger } from '../ops/logger.js';
import { createRuntime, type Runtime } from '../ops/runtime.js';

/** The flags that name one visitor, shared by every admin command (and explain). */
export const VISITOR_OPTIONS = {
  user: { type: 'string' },
  anonymous: { type: 'string' },
  jwt: { type: 'string' },
} as const;

export interface CliIo {
  load(file: string): Promise<LoadedConfig>;
  fail(message: string, code?: number): never;
}

/** Who the audit line says acted: the operating-system user running the CLI. */
function cliUser(): string {
  try {
    return `cli:${userInfo().username}`;
  } catch {
    return 'cli:unknown';
  }
}

export function visitorFlags(values: { user?: string; anonymous?: string; jwt?: string }, io: CliIo, command: string): IdentityInput {
  const given = (['user', 'anonymous', 'jwt'] as const).filter((flag) => values[flag] !== undefined);
  if (given.length !== 1) io.fail(`${command} needs exactly one of --user <id>, --anonymous <id>, --jwt <token> (see plangate ${command} --help)`);
  if (values.user !== undefined) return { userIdentifier: values.user };
  if (values.anonymous !== undefined) return { anonymousIdentifier: values.anonymous };
  return { userJwt: values.jwt };
}

/** A runtime whose logs go to stderr (stdout carries the JSON result). */
export async function quietRuntime(model: LoadedConfig): Promise<Runtime> {
  const logger = createLogger({ destination: { write: (line: string) => void process.stderr.write(line) } });
  return createRuntime(model, { logger });
}

async function withRuntime(file: string | undefined, io: CliIo, command: string, work: (runtime: Runtime, who: string) => Promise<unknown>): Promise<void> {
  if (file === undefined) io.fail(`${command} needs --config <file> (see plangate ${command} --help)`);
  const model = await io.load(file);
  const runtime = await quietRuntime(model);
  if (runtime.store.kind === 'memory')
    process.stderr.write(
      `plangate ${command}: warning: ${file} names no Redis (store.redis): the in-memory store lives in this process only, so this changes nothing a running gateway sees\n`,
    );
  try {
    const result = await work(runtime, cliUser());
    if (result !== undefined) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } catch (err) {
    if (err instanceof EngineError) io.fail(`plangate ${command}: ${err.code}: ${err.message}`, 1);
    throw err;
  } finally {
    await runtime.close();
  }
}

const visitorOf = (runtime: Runtime, identity: IdentityInput): Promise<Visitor> => runtime.engine.visitorOf(identity);

export async function grantCommand(args: string[], io: CliIo): Promise<void> {
  const { values } = parseArgs({
    args,
    options: { config: { type: 'string', short: 'c' }, ...VISITOR_OPTIONS, plan: { type: 'string' }, until: { type: 'string' }, note: { type: 'string' } },
  });
  const identity = visitorFlags(values, io, 'grant');
  if (values.plan === undefined) io.fail('grant needs --plan <slug> (see plangate grant --help)');
  await withRuntime(values.config, io, 'grant', async (runtime, who) => ({
    grant: await runtime.engine.admin.grant(await visitorOf(runtime, identity), { plan: values.plan!, expiresAt: values.until, note: values.note }, who),
  }));
}

export async function revokeCommand(args: string[], io: CliIo): Promise<void> {
  const { values } = parseArgs({ args, options: { config: { type: 'string', short: 'c' }, ...VISITOR_OPTIONS, plan: { type: 'string' } } });
  const identity = visitorFlags(values, io, 'revoke');
  if (values.plan === undefined) io.fail('revoke needs --plan <slug> (see plangate revoke --help)');
  await withRuntime(values.config, io, 'revoke', async (runtime, who) => runtime.engine.admin.revoke(await visitorOf(runtime, identity), values.plan!, who));
}

export async function grantsCommand(args: string[], io: CliIo): Promise<void> {
  const { values } = parseArgs({ args, options: { config: { type: 'string', short: 'c' }, ...VISITOR_OPTIONS, export: { type: 'boolean' }, import: { type: 'string' } } });
  if (values.export === true) {
    await withRuntime(values.config, io, 'grants', async (runtime) => {
      for await (const line of runtime.engine.admin.exportGrants()) process.stdout.write(`${JSON.stringify(line)}\n`);
      return undefined;
    });
    return;
  }
  if (values.import !== undefined) {
    const from = values.import;
    let text: string;
    try {
      text = from === '-' ? await readStdin() : await readFile(from, 'utf8');
    } catch (err) {
      io.fail(`grants --import: cannot read ${from}: ${(err as Error).message}`, 1);
    }
    await withRuntime(values.config, io, 'grants', (runtime, who) => runtime.engine.admin.importGrants(text, who));
    return;
  }
  const identity = visitorFlags(values, io, 'grants');
  await withRuntime(values.config, io, 'grants', async (runtime) => ({ grants: await runtime.engine.admin.grants(await visitorOf(runtime, identity)) }));
}

export async function metersCommand(args: string[], io: CliIo): Promise<void> {
  const { values } = parseArgs({ args, options: { config: { type: 'string', short: 'c' }, ...VISITOR_OPTIONS, reset: { type: 'string' }, adjust: { type: 'string' } } });
  const identity = visitorFlags(values, io, 'meters');
  if (values.reset !== undefined && values.adjust !== undefined) io.fail('meters takes --reset or --adjust, not both');
  let adjust: { counterId: string; units: number } | undefined;
  if (values.adjust !== undefined) {
    const match = /^(.+)=([+-]?\d+)$/.exec(values.adjust);
    if (match === null) io.fail(`--adjust takes <counterId>=<units>, e.g. ${'default:feat_articles.enabled'}=-2; got '${values.adjust}'`);
    adjust = { counterId: match[1], units: Number(match[2]) };
  }
  await withRuntime(values.config, io, 'meters', async (runtime, who) => {
    const visitor = await visitorOf(runtime, identity);
    if (values.reset !== undefined) return { meter: await runtime.engine.admin.resetMeter(visitor, values.reset, who) };
    if (adjust !== undefined) return { meter: await runtime.engine.admin.adjustMeter(visitor, adjust.counterId, adjust.units, who) };
    return { meters: await runtime.engine.admin.meters(visitor) };
  });
}

export async function forgetCommand(args: string[], io: CliIo): Promise<void> {
  const { values } = parseArgs({ args, options: { config: { type: 'string', short: 'c' }, ...VISITOR_OPTIONS } });
  const identity = visitorFlags(values, io, 'forget');
  await withRuntime(values.config, io, 'forget', async (runtime, who) => runtime.engine.admin.forget(await visitorOf(runtime, identity), who));
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
