// The plangate command line (bin/plangate.js runs it): validate, decide, token, serve, gateway, start.
import cluster from 'node:cluster';
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
import { DEFAULT_SHUTDOWN_TIMEOUT_MS, runGateway, type RunGatewayOptions, type RunningServers } from './run-gateway.js';
import { runPrimary, runWorker, workersProblem } from './workers.js';

const HELLO_WORLD = 'config/examples/hello-world.yaml';
const DEMO_CONFIG = 'config/plangate.yaml';

const USAGE = `plangate — a self-hosted monetization gateway

Usage:
  plangate validate <config.yaml>... [--dev]
  plangate decide --config <file> --surface <slug> (--anonymous <id> | --user <id> | --jwt <token> | --new-anonymous)
                  [--resource <id>] [--dry-run] [--repeat <n>] [--dev]
  plangate token [--email <address>] [--premium | --no-premium] [--claim key=value ...] [--exp 1h] [--key-dir <dir>]
  plangate serve [config.yaml] [--host <host>] [--port <port>] [--dev]      the decision API only
  plangate gateway [config.yaml] [--config <file>] [--host <host>] [--port <port>]
                  [--ops-host <host>] [--ops-port <port>] [--shutdown-timeout <ms>] [--no-watch] [--dev]
                  [--workers <n>]   n worker processes sharing the ports (server.workers; needs Redis meters)
  plangate start [same options]  the demo site behind the gateway (\`npm start\` runs \`start --dev\`)

  serve, gateway and start refuse a config without an anonymous-id secret (anonymousIds.keys).
  --dev: for local development, when the config declares none, use (and create) the secret in
  .plangate/anonymous-id.secret, with a warning. Never in production: instances must share one secret.

  gateway and start also serve the ops port (server.ops, 127.0.0.1:9090: /healthz, /readyz, /metrics),
  reload the config on SIGHUP and when its files change, and drain requests on SIGTERM.
  Environment: PLANGATE_OPS_HOST, PLANGATE_OPS_PORT, PLANGATE_SHUTDOWN_TIMEOUT_MS (default 10000), PLANGATE_LOG_LEVEL,
  PLANGATE_WORKERS. With workers, send signals to the primary (the pid printed at start); it passes them on.
`;

function fail(message: string, code = 2): never {
  process.stderr.write(`${message}\n`);
  process.exit(code);
}

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
  if (positionals.length === 0) fail(`validate needs a config file\n\n${USAGE}`);
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
      'dry-run': { type: 'boolean' },
      repeat: { type: 'string', default: '1' },
      dev: { type: 'boolean' },
    },
  });
  if (!values.config || !values.surface) fail(`decide needs --config and --surface\n\n${USAGE}`);
  const model = await loadOrExit(values.config, await devOptions(values.dev));
  // Offline: meters live in this process only, unless the config names Redis.
  const runtime = await createRuntime(model);
  try {
    const repeat = Math.max(1, Number.parseInt(values.repeat ?? '1', 10) || 1);
    for (let i = 0; i < repeat; i++) {
      const outcome = await runtime.engine.decide({
        surfaceSlug: values.surface,
        identity: identityFromFlags(values),
        trusted: true,
        resource: values.resource === undefined ? undefined : { id: values.resource },
        dryRun: values['dry-run'] === true,
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
    process.stdout.write(`plangate token: mint a test JWT signed with the local RS256 key (.plangate/keys/test-jwt.pem, created when missing)

  --email <address>     the email claim (the example configs' claim key); default test@example.com
  --premium             add "premium": true (the demo and tutorial provision the premium plan from it)
  --no-premium          add "premium": false
  --claim key=value     any other claim; the value is parsed as JSON when it can be (repeatable)
  --exp <duration>      an expiry such as 1h, 30d (default: none)
  --issuer, --audience  iss and aud claims
  --key-dir <dir>       where the key pair lives (default .plangate/keys)
`);
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
  const { server, url } = await listen(app, host, port);
  process.stdout.write(banner(url));
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

/** Command-line flags first, then PLANGATE_* variables (the Docker image binds the ops port with them), then the config. */
function serveOptions(values: { [K in keyof typeof SERVE_OPTIONS]?: string | boolean }): Omit<RunGatewayOptions, 'model' | 'load'> {
  const env = process.env;
  const timeout = (values['shutdown-timeout'] as string | undefined) ?? env.PLANGATE_SHUTDOWN_TIMEOUT_MS;
  const shutdownTimeoutMs = timeout === undefined ? DEFAULT_SHUTDOWN_TIMEOUT_MS : Number(timeout);
  if (!Number.isInteger(shutdownTimeoutMs) || shutdownTimeoutMs < 0)
    fail(`--shutdown-timeout (PLANGATE_SHUTDOWN_TIMEOUT_MS) must be a whole number of milliseconds, got '${timeout}'`);
  return {
    listen: { host: values.host as string | undefined, port: portOf(values.port as string | undefined, '--port') },
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
  const running = await runGateway({ model, load: options, ...serveOptions(values) });
  process.stdout.write(`plangate gateway listening on ${running.gateway.url} (config: ${file}, ${running.runtime.store.kind} meters)\n`);
  printListeners(running);
  installSignals(running);
}

// The demo site is an example, not part of the package build: it is loaded from the checkout
// (TypeScript, through tsx), so the production image runs `gateway`, never `start`.
interface DemoSiteModule {
  startDemoSite(options: { port?: number }): Promise<{ url: string; close(): Promise<void> }>;
}

async function start(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: SERVE_OPTIONS });
  const keys = await ensureTestKeys();
  const { model, options } = await loadForServing(values.config ?? DEMO_CONFIG, values.dev);
  const demo = new URL('../../examples/demo-site/server.ts', import.meta.url).href;
  const { startDemoSite } = (await import(demo)) as DemoSiteModule;
  const site = await startDemoSite({ port: Number.parseInt(process.env.PLANGATE_DEMO_PORT ?? '3001', 10) });
  // The gateway forwards to the demo site wherever it listens (PLANGATE_DEMO_PORT may move it).
  const running = await runGateway({ model, load: options, upstream: site.url, ...serveOptions(values) });
  const premium = await mintTestToken({ privateKeyFile: keys.privateKeyFile, email: 'reader@example.com', premium: true, expiresIn: '30d' });
  const url = running.gateway.url;
  process.stdout.write(`
plangate is running in front of the demo news site.

  Browse:     ${url}/                 (the site itself runs on ${site.url}; plangate forwards to it)
  Config:     ${DEMO_CONFIG}   meters: ${running.runtime.store.kind === 'redis' ? 'Redis' : 'in memory (set REDIS_URL for Redis)'}
  Ops:        ${running.ops.url}/healthz  ${running.ops.url}/readyz  ${running.ops.url}/metrics
  Reload:     edit the config or its workflows (reloaded on save), or kill -HUP ${process.pid}

Anonymous readers get 3 free articles a month; the 4th different article shows the paywall:
  curl -s -b /tmp/plangate.jar -c /tmp/plangate.jar ${url}/articles/river-cleanup
  curl -s -H 'Accept: application/json' -b /tmp/plangate.jar -c /tmp/plangate.jar ${url}/articles/<another>

A premium reader's token (mint others: npm run token -- --email you@example.com [--premium]):
  ${premium}
Use it as a cookie or a Bearer token:
  curl -s -H "Authorization: Bearer <token>" ${url}/premium/
  document.cookie = "plangate_jwt=<token>; path=/"     (in the browser console, then reload)

Press Ctrl-C to stop.
`);
  installSignals(running, () => site.close());
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'validate':
      return validate(rest);
    case 'decide':
      return decide(rest);
    case 'token':
      return token(rest);
    case 'serve':
      return serve(rest, (url) => `plangate decision API listening on ${url}\n`);
    case 'gateway':
      return gateway(rest);
    case 'start':
      return start(rest);
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
