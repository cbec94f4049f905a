// The command line's help: the overview (`plangate --help`) and one text per command
// (`plangate <command> --help`). Every command has one; test/cli-help.test.ts holds them to it.
import { readFileSync } from 'node:fs';

const VISITOR = `  --user <id>           a user identifier (as in identity.identifier of a decision)
  --anonymous <id>      an anonymous id (signed or not: a signed id names its inner id)
  --jwt <token>         a user JWT, verified as in a decision`;

export const USAGE = `plangate — a self-hosted monetization gateway

Usage: plangate <command> [options]      plangate <command> --help for each command's options

Run:
  gateway [config.yaml]     the gateway, the decision API and the ops port
  serve [config.yaml]       the decision API only
  start                     the demo site behind the gateway (\`npm start\` runs \`start --dev\`)
  proxy-config <proxy>      nginx, caddy, traefik or envoy: the proxy's side of forward-auth (docs/forward-auth.md)
Check:
  validate <config.yaml>... check configs (file, line, column and key of every problem)
  explain                   why a path is allowed or denied: route, identity, plans, meters (consumes nothing)
  decide                    a surface decision as the API gives it (consumes nothing unless --consume)
  token                     mint a test JWT
Run the business (docs/admin.md):
  grant, revoke             give or take a plan from a visitor, optionally until a date
  grants                    list a visitor's grants; --export / --import all grants as JSON lines
  meters                    read a visitor's meters; --reset or --adjust one
  forget                    delete everything stored about a visitor

  --version                 the version
`;

export const HELP: Record<string, string> = {
  validate: `plangate validate <config.yaml>... [--dev]

Checks each config; every problem is printed with file, line, column and key path (stderr), and
warnings too. Exit 0 when every file loads, 1 otherwise.

  --dev   accept a config without anonymousIds.keys (the development secret is used)
`,
  decide: `plangate decide --config <file> --surface <slug> (--user <id> | --anonymous <id> | --jwt <token> | --new-anonymous)
                [--resource <id>] [--consume] [--repeat <n>] [--dev]

Prints the surface decision the API would answer (JSON on stdout; logs on stderr). It consumes
nothing unless --consume is given: by default it is a dry run on the config's store.

${VISITOR}
  --new-anonymous       a new anonymous visitor
  --resource <id>       the resource id (uniqueResources meters)
  --consume             record the consumption (the meters of the config's store change)
  --repeat <n>          decide n times in a row (with --consume: watch a meter run out)
  --dev                 accept a config without anonymousIds.keys
`,
  explain: `plangate explain --config <file> --path </articles/x> [--user <id> | --anonymous <id> | --jwt <token>]
                 [--method GET] [--json] [--dev]

Runs the gateway's real pipeline on a request, as a dry run (nothing is consumed), and shows why it
is allowed or denied: the route matched and why, the identity and how it was obtained, each plan and
its source (automatic, rule, workflow, grant), each property's winning plan and value, the meter
arithmetic, the workflows and their timings, and the headers the upstream would receive or the
denial the client would get. Without a visitor flag the request is a new anonymous visitor.

  --path <path>         the request path (with its query, if any)
  --method <method>     the request method (default GET)
${VISITOR}
  --json                the trace as JSON instead of text
  --dev                 accept a config without anonymousIds.keys
`,
  token: `plangate token: mint a test JWT signed with the local RS256 key (.plangate/keys/test-jwt.pem, created when missing)

  --email <address>     the email claim (the example configs' claim key); default test@example.com
  --premium             add "premium": true (the demo and tutorial provision the premium plan from it)
  --no-premium          add "premium": false
  --claim key=value     any other claim; the value is parsed as JSON when it can be (repeatable)
  --exp <duration>      an expiry such as 1h, 30d (default: none)
  --issuer, --audience  iss and aud claims
  --key-dir <dir>       where the key pair lives (default .plangate/keys)
`,
  serve: `plangate serve [config.yaml] [--host <host>] [--port <port>] [--dev]

The decision API alone (server.api, default 127.0.0.1:3100), with the admin endpoints for keys with
the admin scope. Without apiKeys in the config every request is refused (it says so at start).

  --host, --port        override server.api
  --dev                 accept a config without anonymousIds.keys (development secret, with a warning)
`,
  gateway: `plangate gateway [config.yaml] [--config <file>] [--host <host>] [--port <port>]
                 [--ops-host <host>] [--ops-port <port>] [--shutdown-timeout <ms>] [--no-watch] [--dev]

The gateway (gateway.listen), the decision API (its own listener with apiKeys, or mounted on the
gateway port under server.api.mountPath, where the admin endpoints are off unless
api.adminOnGatewayMount) and the ops port (server.ops: /healthz, /readyz, /metrics). Reloads the
config on SIGHUP and when its files change; drains requests on SIGTERM.

  --host, --port              override gateway.listen (also PLANGATE_HOST, PLANGATE_PORT)
  --ops-host, --ops-port      override server.ops (also PLANGATE_OPS_HOST, PLANGATE_OPS_PORT)
  --shutdown-timeout <ms>     how long SIGTERM waits for requests (default 10000; PLANGATE_SHUTDOWN_TIMEOUT_MS)
  --no-watch                  reload on SIGHUP only
  --workers <n>               n worker processes sharing the ports (server.workers; needs Redis meters;
                              PLANGATE_WORKERS). Send signals to the primary (the pid printed at start)
  --dev                       accept a config without anonymousIds.keys (development secret, with a warning)
Environment: PLANGATE_LOG_LEVEL.
`,
  start: `plangate start [--config <file>] [gateway options] [--dev]

The demo news site (examples/demo-site, from a checkout) behind the gateway, with config/plangate.yaml.
\`npm start\` runs \`plangate start --dev\`. PLANGATE_DEMO_PORT moves the demo site (default 3001).
Takes the options of \`plangate gateway\`.
`,
  'proxy-config': `plangate proxy-config nginx|caddy|traefik|envoy [config.yaml] [--config <file>]
                     [--listen <host:port>] [--decisions <host:port>] [--standalone <dir>] [--dev]

Prints the proxy's configuration for running plangate beside it (gateway.forwardAuth): where it asks
plangate, the injected headers it copies to the site (they depend on the features), what it does to
the response (private caching on decided pages, CDN caching headers removed, the anonymous cookie),
and for nginx the named location that renders denials. Regenerate it when the features change.

  --listen <host:port>        where the proxy takes visitors (default 0.0.0.0:80)
  --decisions <host:port>     where plangate's decision endpoints are (default gateway.listen)
  --standalone <dir>          nginx: a whole nginx.conf with pid, logs and temp files in <dir>;
                              caddy: global options for a private run (admin and automatic HTTPS off)
  --dev                       accept a config without anonymousIds.keys
`,
  grant: `plangate grant --config <file> (--user <id> | --anonymous <id> | --jwt <token>) --plan <slug>
               [--until <date>] [--note <text>]

Grants a plan to a visitor, until revoked or until --until (ISO 8601: 2027-03-01 or
2027-03-01T00:00:00Z). Needs store.grants: true. Stored in the config's store (Redis: every gateway
sees it at its next decision). Prints the grant; the audit line goes to stderr.

${VISITOR}
  --plan <slug>         a plan the config declares
  --until <date>        the expiry (default: none)
  --note <text>         kept with the grant (an order number, a ticket)
`,
  revoke: `plangate revoke --config <file> (--user <id> | --anonymous <id> | --jwt <token>) --plan <slug>

Takes a granted plan back. Prints {"revoked": true} or false when there was no such grant.

${VISITOR}
`,
  grants: `plangate grants --config <file> (--user <id> | --anonymous <id> | --jwt <token>)
plangate grants --config <file> --export > grants.jsonl
plangate grants --config <file> --import grants.jsonl      (- reads stdin)

Lists a visitor's grants (expired ones too, with active: false), or exports every grant as JSON
lines, or imports such lines (every line is checked before any is written).

${VISITOR}
`,
  meters: `plangate meters --config <file> (--user <id> | --anonymous <id> | --jwt <token>)
               [--reset <counterId> | --adjust <counterId>=<units>]

Shows the visitor's usage of every counter in its current period buckets; --reset empties one
counter's current buckets (usage and remembered resources); --adjust adds units (negative takes away;
counters never go below 0).

${VISITOR}
`,
  forget: `plangate forget --config <file> (--user <id> | --anonymous <id> | --jwt <token>)

Deletes every key stored about the visitor: meters of every period, resource sets, grants. Prints how
many keys were deleted.

${VISITOR}
`,
};

/** The package's version (package.json, one directory above src/ and dist/). */
export function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}
