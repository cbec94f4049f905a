// The plangate command line (bin/plangate.js runs it): validate, explain, decide, token, serve,
// gateway, start, and the admin commands (cli/admin.ts). Help texts live in cli/help.ts.
import cluster from 'node:cluster';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { ConfigError, formatIssue, type ConfigIssue } from '../config/errors.js';
import { missingAnonymousIdSecret } from '../engine/identity/anonymous-ids.js';
import { loadConfig, type LoadedConfig, type LoadOptions } from '../config/load.js';
import { ensureDevAnonymousIdKey, ensureTestKeys, mintTestToken, DEFAULT_KEY_DIR, DEV_ANONYMOUS_ID_SECRET_FILE } from './keys.js';
import { createRuntime } from '../ops/runtime.js';
import { createApiApp } from '../api/app.js';
import { listen } from '../api/server.js';
import { EngineError } from '../engine/errors.js';
import type { IdentityInput } from '../engine/engine.js';
import { configInput, PROXY_KINDS, proxyConfig, type HostPort } from '../forward-auth/proxy-config/index.js';
import type { ProxyKind } from '../forward-auth/adapters.js';
import { DEFAULT_SHUTDOWN_TIMEOUT_MS, runGateway, type RunGatewayOptions, type RunningServers } from './run-gateway.js';
import { forgetCommand, grantCommand, grantsCommand, metersCommand, quietRuntime, revokeCommand, type CliIo } from './admin.js';
import { HELP, USAGE, version } from './help.js';
import { createExplainer, explainText } from './explain.js';
import { runPrimary, runWorker, workersProblem } from './workers.js';

const HELLO_WORLD = 'config/examples/hello-world.yaml';
const DEMO_CONFIG = 'config/plangate.yaml';


function fail(message: string, code = 2): never {
  process.stderr.write(`${message}\n`);
  process.exit(code);
}

/** A listen that failed because the port is taken becomes one line (exit 1); anything else is thrown on. */
function failOnPortInUse(err: unknown, message: string): never {
  if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') fail(`plangate: ${message}`, 1);
  throw err;
}

function addressOf(err: unknown): string {
  const { address, port } = err as { address?: string; port?: number };
  return address === undefined ? 'unknown address' : `${address}:${port}`;
}

const io: CliIo = { load: (file) => loadOrExit(file), fail };

/** Warnings never stop a command: each goes to stderr as one `warning: file:line:col  key.path: message` line. */
function printWarning(warning: ConfigIssue): void {
  process.stderr.write(`warning: ${formatIssue(warning)}\n`);
}

/** Load options for `--dev`: the development anonymous-id key, used when the config declares none. */
async function devOptions(dev: boolean | undefined): Promise<LoadOptions> {
  return dev === true ? { devAnonymousIdKey: await ensureDevAnonymousIdKey() } : {};
}

/** Loads a config or exits 1 with every problem; warnings go to stderr. */
async function loadOrExit(file: string, options: LoadOptions = {}): Promise<LoadedConfig> {
  try {
    return await loadConfig(file, { onWarning: printWarning, ...options });
  } catch (err) {
    if (err instanceof ConfigError) fail(err.message, 1);
    throw err;
  }
}

/**
 * The config of a serving command (serve, gateway, start): refused without an anonymous-id secret
 * unless `--dev` filled one in, which is said loudly.
 */
async function loadForServing(file: string, dev: boolean | undefined, quiet = false): Promise<{ model: LoadedConfig; options: LoadOptions }> {
  const options = await devOptions(dev);
  const model = await loadOrExit(file, quiet ? { ...options, onWarning: () => {} } : options);
  if (model.anonymousIds === undefined) fail(missingAnonymousIdSecret(resolve(file)), 1);
  if (model.anonymousIds.dev && !quiet) {
    process.stderr.write(
      `plangate: warning: --dev: anonymous ids are signed with the development secret in ${DEV_ANONYMOUS_ID_SECRET_FILE}, not a configured one. ` +
        'Fine on this machine; never in production (every instance needs the same secret: configure anonymousIds.keys, see docs/operations.md).\n',
    );
  }
  return { model, options };
}

/** Validates each file given; every problem of every file is printed, and the exit code is 1 when any file failed. */
async function validate(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { dev: { type: 'boolean' } } });
  if (positionals.length === 0) fail(`validate needs a config file\n\n${HELP.validate}`);
  const options = await devOptions(values.dev);
  let failed = 0;
  for (const file of positionals) {
    let warnings = 0;
    const onWarning = (warning: ConfigIssue) => {
      warnings++;
      printWarning(warning);
    };
    let model: LoadedConfig;
    try {
      model = await loadConfig(file, { ...options, onWarning });
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      process.stderr.write(`${err.message}\n`);
      failed++;
      continue;
    }
    const counts = `${model.features.length} features, ${model.plans.length} plans, ${model.surfaces.size} surfaces`;
    process.stdout.write(`ok: ${resolve(file)} (${counts}${warnings === 0 ? '' : `; ${warnings} warning${warnings === 1 ? '' : 's'}`})\n`);
  }
  if (failed > 0) process.exitCode = 1;
}

function identityFromFlags(values: Record<string, unknown>): IdentityInput {
  const identity: IdentityInput = {};
  if (typeof values.anonymous === 'string') identity.anonymousIdentifier = values.anonymous;
  if (typeof values.user === 'string') identity.userIdentifier = values.user;
  if (typeof values.jwt === 'string') identity.userJwt = values.jwt;
  if (values['new-anonymous'] === true) identity.createAnonymousIdentifier = true;
  if (values['jwt-fallback'] === true) identity.createAnonymousIdentifierFallback = true;
  return identity;
}

async function decide(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      config: { type: 'string', short: 'c' },
      surface: { type: 'string', short: 's' },
      anonymous: { type: 'string' },
      user: { type: 'string' },
      jwt: { type: 'string' },
      'new-anonymous': { type: 'boolean' },
      'jwt-fallback': { type: 'boolean' },
      resource: { type: 'string' },
      consume: { type: 'boolean' },
      // Kept for scripts written before decide became dry by default: it changes nothing.
      'dry-run': { type: 'boolean' },
      repeat: { type: 'string', default: '1' },
      dev: { type: 'boolean' },
    },
  });
  if (!values.config || !values.surface) fail(`decide needs --config and --surface\n\n${HELP.decide}`);
  if (values.consume === true && values['dry-run'] === true) fail('decide takes --consume or --dry-run, not both');
  const model = await loadOrExit(values.config, await devOptions(values.dev));
  // On the config's store (Redis when it names one); logs go to stderr, the decision to stdout.
  const runtime = await quietRuntime(model);
  try {
    const repeat = Math.max(1, Number.parseInt(values.repeat ?? '1', 10) || 1);
    for (let i = 0; i < repeat; i++) {
      const outcome = await runtime.engine.decide({
        surfaceSlug: values.surface,
        identity: identityFromFlags(values),
        trusted: true,
        resource: values.resource === undefined ? undefined : { id: values.resource },
        dryRun: values.consume !== true,
      });
      process.stdout.write(`${JSON.stringify(outcome.decision, null, 2)}\n`);
    }
  } catch (err) {
    if (err instanceof EngineError) fail(`error ${err.status}: ${err.message}`, 1);
    throw err;
  } finally {
    await runtime.close();
  }
}

/** `plangate explain`: the gateway's pipeline on one request, dry, with the engine's trace (cli/explain.ts). */
async function explain(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      config: { type: 'string', short: 'c' },
      path: { type: 'string' },
      method: { type: 'string' },
      user: { type: 'string' },
      anonymous: { type: 'string' },
      jwt: { type: 'string' },
      json: { type: 'boolean' },
      dev: { type: 'boolean' },
    },
  });
  if (!values.config || !values.path) fail(`explain needs --config and --path\n\n${HELP.explain}`);
  if ([values.user, values.anonymous, values.jwt].filter((v) => v !== undefined).length > 1) fail('explain takes at most one of --user, --anonymous, --jwt');
  const model = await loadOrExit(values.config, await devOptions(values.dev));
  if (model.gateway === undefined) fail(`explain: ${resolve(values.config)} has no gateway section: explain follows a request through the gateway's routes`, 1);
  if (model.anonymousIds === undefined) fail(missingAnonymousIdSecret(resolve(values.config)), 1);
  const runtime = await quietRuntime(model);
  try {
    const explainer = createExplainer({ gateway: model.gateway, engine: runtime.engine, logger: runtime.events });
    const report = await explainer({
      path: values.path,
      method: values.method,
      identity: { userIdentifier: values.user, anonymousIdentifier: values.anonymous, userJwt: values.jwt },
    });
    process.stdout.write(values.json === true ? `${JSON.stringify(report, null, 2)}\n` : explainText(report));
  } catch (err) {
    if (err instanceof EngineError) fail(`plangate explain: ${err.code}: ${err.message}`, 1);
    throw err;
  } finally {
    await runtime.close();
  }
}

async function token(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      email: { type: 'string', default: 'test@example.com' },
      premium: { type: 'boolean' },
      'no-premium': { type: 'boolean' },
      claim: { type: 'string', multiple: true },
      exp: { type: 'string' },
      'key-dir': { type: 'string', default: DEFAULT_KEY_DIR },
      issuer: { type: 'string' },
      audience: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(HELP.token);
    return;
  }
  const keys = await ensureTestKeys(values['key-dir']);
  if (keys.created) process.stderr.write(`created a test key pair: ${keys.privateKeyFile} (private), ${keys.publicKeyFile} (public)\n`);
  const claims: Record<string, unknown> = {};
  for (const pair of values.claim ?? []) {
    const at = pair.indexOf('=');
    if (at < 1) fail(`--claim takes key=value, got '${pair}'`);
    const raw = pair.slice(at + 1);
    let value: unknown = raw;
    try {
      value = JSON.parse(raw);
    } catch {
      // not JSON: keep the string
    }
    claims[pair.slice(0, at)] = value;
  }
  const premium = values.premium === true ? true : values['no-premium'] === true ? false : undefined;
  process.stdout.write(
    `${await mintTestToken({ privateKeyFile: keys.privateKeyFile, email: values.email!, premium, claims, expiresIn: values.exp, issuer: values.issuer, audience: values.audience })}\n`,
  );
}

async function serve(args: string[], banner: (url: string) => string): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { host: { type: 'string' }, port: { type: 'string' }, dev: { type: 'boolean' } },
  });
  const file = positionals[0] ?? HELLO_WORLD;
  const { model } = await loadForServing(file, values.dev);
  const runtime = await createRuntime(model);
  const app = createApiApp({ engine: () => runtime.engine, events: runtime.events });
  const host = values.host ?? model.server.api.host;
  const port = values.port !== undefined ? Number.parseInt(values.port, 10) : model.server.api.port;
  const { server, url } = await listen(app, host, port).catch((err: unknown) =>
    failOnPortInUse(err, `the API's port is in use (${addressOf(err)}): stop what listens there, or pass --port`),
  );
  process.stdout.write(banner(url));
  if (model.apiKeys.length === 0)
    process.stderr.write(
      `plangate serve: warning: ${file} declares no apiKeys: every request will be refused with 401 (add apiKeys with sk_/pk_ keys, see docs/api.md)\n`,
    );
  const stop = () => {
    server.close();
    void runtime.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

const SERVE_OPTIONS = {
  config: { type: 'string', short: 'c' },
  host: { type: 'string' },
  port: { type: 'string' },
  'ops-host': { type: 'string' },
  'ops-port': { type: 'string' },
  'shutdown-timeout': { type: 'string' },
  'no-watch': { type: 'boolean' },
  dev: { type: 'boolean' },
  workers: { type: 'string' },
} as const;

function workersOf(value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  const workers = Number(value);
  if (!Number.isInteger(workers) || workers < 1 || workers > 64) fail(`--workers (PLANGATE_WORKERS) must be a whole number from 1 to 64, got '${value}'`);
  return workers;
}

function portOf(value: string | undefined, what: string): number | undefined {
  if (value === undefined || value === '') return undefined;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`${what} must be a port number from 0 to 65535, got '${value}'`);
  return port;
}

/** Command-line flags first, then PLANGATE_* variables (the Docker image binds both listeners to 0.0.0.0 with them), then the config. */
function serveOptions(values: { [K in keyof typeof SERVE_OPTIONS]?: string | boolean }): Omit<RunGatewayOptions, 'model' | 'load'> {
  const env = process.env;
  const timeout = (values['shutdown-timeout'] as string | undefined) ?? env.PLANGATE_SHUTDOWN_TIMEOUT_MS;
  const shutdownTimeoutMs = timeout === undefined ? DEFAULT_SHUTDOWN_TIMEOUT_MS : Number(timeout);
  if (!Number.isInteger(shutdownTimeoutMs) || shutdownTimeoutMs < 0)
    fail(`--shutdown-timeout (PLANGATE_SHUTDOWN_TIMEOUT_MS) must be a whole number of milliseconds, got '${timeout}'`);
  return {
    listen: {
      host: (values.host as string | undefined) ?? (env.PLANGATE_HOST || undefined),
      port: portOf((values.port as string | undefined) ?? env.PLANGATE_PORT, '--port (PLANGATE_PORT)'),
    },
    ops: {
      host: (values['ops-host'] as string | undefined) ?? (env.PLANGATE_OPS_HOST || undefined),
      port: portOf((values['ops-port'] as string | undefined) ?? env.PLANGATE_OPS_PORT, '--ops-port (PLANGATE_OPS_PORT)'),
    },
    shutdownTimeoutMs,
    watch: values['no-watch'] !== true,
  };
}

/** SIGHUP reloads; SIGTERM and SIGINT drain and exit 0 (a second one exits at once). */
function installSignals(running: RunningServers, after: () => Promise<void> = async () => {}): void {
  process.on('SIGHUP', () => {
    void running.reloader.reload('sighup');
  });
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      process.stderr.write(`plangate: ${signal} again, exiting without waiting\n`);
      process.exit(1);
    }
    stopping = true;
    void running
      .shutdown()
      .then(after)
      .then(
        () => process.exit(0),
        (err: unknown) => {
          process.stderr.write(`plangate: shutdown failed: ${(err as Error).message}\n`);
          process.exit(1);
        },
      );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

function printListeners(running: RunningServers): void {
  if (running.api) process.stdout.write(`decision API listening on ${running.api.url}\n`);
  if (running.apiMount) process.stdout.write(`decision API mounted at ${running.apiMount}\n`);
  process.stdout.write(`ops (health, readiness, metrics) on ${running.ops.url}  (/healthz, /readyz, /metrics)\n`);
}

async function gateway(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: SERVE_OPTIONS });
  const file = values.config ?? positionals[0] ?? DEMO_CONFIG;
  if (cluster.isWorker) {
    // A worker of `--workers`: the primary checked the config, prints the warnings and the banner.
    const { model, options } = await loadForServing(file, values.dev, true);
    return runWorker({ model, load: options });
  }
  const { model, options } = await loadForServing(file, values.dev);
  const workers = workersOf(values.workers ?? process.env.PLANGATE_WORKERS) ?? model.server.workers;
  if (workers > 1) {
    const problem = workersProblem(model, workers);
    if (problem !== null) fail(problem, 1);
    await runPrimary({
      model,
      workers,
      ...serveOptions(values),
      onListening(urls) {
        process.stdout.write(`plangate gateway listening on ${urls.gateway} (config: ${file}, redis meters, ${workers} worker processes)\n`);
        if (urls.api) process.stdout.write(`decision API listening on ${urls.api}\n`);
        if (urls.apiMount) process.stdout.write(`decision API mounted at ${urls.apiMount}\n`);
        process.stdout.write(`ops (health, readiness, metrics) on ${urls.ops}  (/healthz, /readyz, /metrics; aggregated over the workers)\n`);
      },
    });
    return;
  }
  const running = await runGateway({ model, load: options, ...serveOptions(values) }).catch((err: unknown) =>
    failOnPortInUse(err, `a port the gateway needs is in use (${addressOf(err)}): stop what listens there, or pass --port / --ops-port`),
  );
  const beside = model.gateway?.forwardAuth;
  const what =
    beside === undefined
      ? `plangate gateway listening on ${running.gateway.url}`
      : `plangate decides for your proxy at ${running.gateway.url}${beside.pathPrefix}/nginx (or /caddy, /traefik, /envoy)`;
  process.stdout.write(`${what} (config: ${file}, ${running.runtime.store.kind} meters)\n`);
  printListeners(running);
  installSignals(running);
}

// The demo site is an example, not part of the package build: it is loaded from the checkout
// (TypeScript, through tsx), so the production image runs `gateway`, never `start`.
interface DemoSiteModule {
  startDemoSite(options: { port?: number; privateKeyFile?: string }): Promise<{ url: string; close(): Promise<void> }>;
}

/**
 * The demo site's TypeScript module: tsx runs it from the sources; the built CLI (dist/) registers tsx
 * first, since node alone cannot load .ts ("Unknown file extension .ts"). Only a checkout has it.
 */
async function importDemoSite(): Promise<DemoSiteModule> {
  const demo = new URL('../../examples/demo-site/server.ts', import.meta.url);
  if (!existsSync(fileURLToPath(demo))) fail('plangate start runs the demo site of a checkout (examples/demo-site); in an installed package run plangate gateway', 1);
  if (!import.meta.url.endsWith('.ts')) {
    try {
      const { register } = await import('tsx/esm/api');
      register();
    } catch {
      fail('plangate start: the demo site is TypeScript and needs tsx (npm install in the checkout)', 1);
    }
  }
  return (await import(demo.href)) as DemoSiteModule;
}

async function start(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: SERVE_OPTIONS });
  const keys = await ensureTestKeys();
  const { model, options } = await loadForServing(values.config ?? DEMO_CONFIG, values.dev);
  const { startDemoSite } = await importDemoSite();
  const demoPort = Number.parseInt(process.env.PLANGATE_DEMO_PORT ?? '3001', 10);
  // The site's sign-in page signs the demo JWT with the same local key `plangate token` uses.
  const site = await startDemoSite({ port: demoPort, privateKeyFile: keys.privateKeyFile }).catch((err: unknown) =>
    failOnPortInUse(err, `the demo site's port ${demoPort} is in use: stop what listens there, or move the demo with PLANGATE_DEMO_PORT=<port>`),
  );
  // The gateway forwards to the demo site wherever it listens (PLANGATE_DEMO_PORT may move it).
  const running = await runGateway({ model, load: options, upstream: site.url, ...serveOptions(values) }).catch(async (err: unknown) => {
    await site.close();
    return failOnPortInUse(err, `a port the gateway needs is in use (${addressOf(err)}): stop what listens there, or pass --port / --ops-port`);
  });
  const premium = await mintTestToken({ privateKeyFile: keys.privateKeyFile, email: 'reader@example.com', premium: true, expiresIn: '30d' });
  const url = running.gateway.url;
  process.stdout.write(`
plangate is running in front of the demo news site.

  Browse:     ${url}/                 (the site itself runs on ${site.url}; plangate forwards to it)
  Config:     ${DEMO_CONFIG}   meters: ${running.runtime.store.kind === 'redis' ? 'Redis' : 'in memory (set REDIS_URL for Redis)'}
  Ops:        ${running.ops.url}/healthz  ${running.ops.url}/readyz  ${running.ops.url}/metrics
  Reload:     edit the config or its workflows (reloaded on save), or kill -HUP ${process.pid}

Anonymous readers get 3 free articles a month, with a banner counting them down; the 4th shows its
first paragraphs and an offer (a soft paywall); /premium/ is for premium readers only.
  Sign in:    ${url}/signin   (an email, and a box to tick for premium)
  Plans:      ${url}/plans
  curl -s -b /tmp/plangate.jar -c /tmp/plangate.jar ${url}/articles/river-cleanup

A premium reader's token, for curl (mint others: npm run token -- --email you@example.com [--premium]):
  curl -s -H "Authorization: Bearer ${premium}" ${url}/premium/investigation

Press Ctrl-C to stop.
`);
  installSignals(running, () => site.close());
}

/** `host:port` (`[v6]:port`) from a flag. */
function hostPortOf(value: string | undefined, what: string): HostPort | undefined {
  if (value === undefined) return undefined;
  const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(value);
  const port = match ? Number(match[3]) : NaN;
  if (!match || port > 65535) fail(`${what} takes host:port (e.g. 0.0.0.0:80 or [::]:443), got '${value}'`);
  return { host: match[1] ?? match[2], port };
}

async function proxyConfigCommand(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      config: { type: 'string', short: 'c' },
      listen: { type: 'string' },
      decisions: { type: 'string' },
      standalone: { type: 'string' },
      dev: { type: 'boolean' },
    },
  });
  const [kind, file = values.config ?? DEMO_CONFIG] = positionals;
  if (!PROXY_KINDS.includes(kind as ProxyKind)) fail(`proxy-config needs one of ${PROXY_KINDS.join(', ')}, got '${kind ?? ''}'\n\n${HELP['proxy-config']}`);
  const model = await loadOrExit(values.config ?? file, await devOptions(values.dev));
  let input;
  try {
    input = configInput(model, {
      listen: hostPortOf(values.listen, '--listen'),
      decisions: hostPortOf(values.decisions, '--decisions'),
      standalone: values.standalone === undefined ? undefined : { prefix: resolve(values.standalone) },
    });
  } catch (err) {
    fail((err as Error).message, 1);
  }
  // The file as the operator named it, not the resolved absolute path, in the generated header.
  process.stdout.write(proxyConfig(kind as ProxyKind, { ...input, file: values.config ?? file }));
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  if (command === '--version' || command === '-v' || command === 'version') {
    process.stdout.write(`plangate ${version()}\n`);
    return;
  }
  if (command !== undefined && HELP[command] !== undefined && (rest.includes('--help') || rest.includes('-h'))) {
    process.stdout.write(HELP[command]);
    return;
  }
  switch (command) {
    case 'validate':
      return validate(rest);
    case 'decide':
      return decide(rest);
    case 'explain':
      return explain(rest);
    case 'token':
      return token(rest);
    case 'serve':
      return serve(rest, (url) => `plangate decision API listening on ${url}\n`);
    case 'gateway':
      return gateway(rest);
    case 'start':
      return start(rest);
    case 'proxy-config':
      return proxyConfigCommand(rest);
    case 'grant':
      return grantCommand(rest, io);
    case 'revoke':
      return revokeCommand(rest, io);
    case 'grants':
      return grantsCommand(rest, io);
    case 'meters':
      return metersCommand(rest, io);
    case 'forget':
      return forgetCommand(rest, io);
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE);
      return;
    default:
      fail(`unknown command '${command}'\n\n${USAGE}`);
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`plangate: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
