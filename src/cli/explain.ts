// `plangate explain` and the API's explain endpoint (docs/admin.md "Explain"): one request through the
// gateway's real pipeline (createPipeline, as the listener builds it) with the explain hook set: the
// decision is a dry run and the engine records what each step did. Nothing here decides anything;
// it builds the request, reads the trace and the verdict, and puts them in words.
import { randomUUID } from 'node:crypto';
import { IncomingMessage } from 'node:http';
import { Socket } from 'node:net';
import { relative } from 'node:path';
import type { Engine, IdentityInput } from '../engine/engine.js';
import { EngineError } from '../engine/errors.js';
import { anonymousIdentity } from '../engine/identity/resolve.js';
import type { PlanValue } from '../engine/model.js';
import { newDecisionTrace, type DecisionTrace } from '../engine/trace.js';
import type { PlanSource, ResolvedIdentity } from '../engine/types.js';
import type { EventLogger } from '../events.js';
import { canonicalizeTarget } from '../gateway/canonical-path.js';
import type { GatewayModel } from '../gateway/model.js';
import type { RequestTrace } from '../gateway/observer.js';
import { createPipeline, type Verdict } from '../gateway/pipeline.js';
import { matchRoute } from '../gateway/routes.js';

export interface ExplainRequest {
  path: string;
  method?: string;
  /** At most one of userIdentifier, anonymousIdentifier, userJwt; none: a new anonymous visitor. */
  identity?: Pick<IdentityInput, 'userIdentifier' | 'anonymousIdentifier' | 'userJwt'>;
}

export interface ExplainReport {
  request: { method: string; path: string };
  route: { matched: string | null; index?: number; surface?: string; bypass?: boolean; why: string[] };
  identity: { authType?: string; identifier?: string; how: string };
  plans: PlanSource[];
  properties: { property: string; plan: string; value: string }[];
  meters: string[];
  storeCalls: { ms: number; counters: string[]; consume: string[]; dryRun: boolean; grants?: string[]; error?: string }[];
  workflows: DecisionTrace['workflows'];
  result:
    | { kind: 'forward'; outcome: string; target: string; upstreamHeaders: Record<string, string> }
    | { kind: 'answer'; outcome: string; status: number; headers: Record<string, string>; body: string };
}

export type Explainer = (request: ExplainRequest) => Promise<ExplainReport>;

export function createExplainer(deps: { gateway: GatewayModel; engine: Engine; logger: EventLogger }): Explainer {
  const { gateway, engine } = deps;
  const pipeline = createPipeline({ gateway, engine, upstreamHost: new URL(gateway.upstream).host, logger: deps.logger });

  return async (input) => {
    const method = (input.method ?? 'GET').toUpperCase();
    if (!/^[A-Z]+$/.test(method)) throw new EngineError('invalid-request', `method must be an HTTP method such as GET, got '${input.method}'`);
    if (typeof input.path !== 'string' || !input.path.startsWith('/')) throw new EngineError('invalid-request', `path must start with /, got '${input.path}'`);
    const given = Object.entries(input.identity ?? {}).filter(([, value]) => value !== undefined);
    if (given.length > 1) throw new EngineError('identity-conflict', 'explain takes one identity: a user identifier, an anonymous id or a JWT');

    const headers: Record<string, string> = { host: 'explain.invalid', accept: 'text/html' };
    let override: ResolvedIdentity | undefined;
    let how: string;
    const identity = input.identity ?? {};
    if (identity.userJwt !== undefined) {
      headers.authorization = `Bearer ${identity.userJwt}`;
      how = 'a JWT sent as Authorization: Bearer, verified by the gateway';
    } else if (identity.anonymousIdentifier !== undefined) {
      const ids = engine.anonymousIds!;
      const given = identity.anonymousIdentifier;
      if (ids.verify(given) !== undefined || UUID.test(given)) {
        // The visitor's cookie: their signed id as given, or the id signed as the gateway would have.
        headers.cookie = `${gateway.anonymousCookie}=${ids.verify(given) === undefined ? ids.sign(given) : given}`;
        how = `the signed anonymous cookie (${gateway.anonymousCookie}), verified by the gateway`;
      } else {
        // Not an id the gateway hands out (those are UUIDs): the API's anonymous ids are explained as given.
        override = anonymousIdentity(given);
        how = 'an anonymous id given to explain (not a gateway cookie id: the gateway mints UUIDs)';
      }
    } else if (identity.userIdentifier !== undefined) {
      override = { authType: 'provided', identifier: identity.userIdentifier, isAuthenticated: true, jwtClaims: {} };
      how = 'a user identifier given to explain (the gateway itself knows users by their JWT only)';
    } else {
      override = anonymousIdentity(randomUUID());
      how = 'a new anonymous visitor (explain mints no id and spends no new-id budget)';
    }

    const req = fakeRequest(method, input.path, headers);
    const decision = newDecisionTrace();
    const trace: RequestTrace = { requestId: randomUUID(), route: '-', explain: { decision, identity: override } };
    const verdict = await pipeline.run(req, trace);
    return report({ gateway, method, path: input.path, how, verdict, decision, identityOf: override, trace });
  };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A request as the listener hands it to the pipeline, from a socket that never connects. */
function fakeRequest(method: string, url: string, headers: Record<string, string>): IncomingMessage {
  const socket = new Socket();
  Object.defineProperty(socket, 'remoteAddress', { value: '127.0.0.1' });
  const req = new IncomingMessage(socket);
  req.method = method;
  req.url = url;
  req.headers = { ...headers };
  req.rawHeaders = Object.entries(headers).flat();
  return req;
}

function describeValue(value: PlanValue): string {
  switch (value.kind) {
    case 'on':
      return 'on';
    case 'off':
      return 'off';
    case 'metered':
      return `${value.limit} per ${value.period}${value.uniqueResources ? ', unique resources' : ''}${value.allowPartial ? ', partial allowed' : ''}`;
    default:
      return JSON.stringify(value.value);
  }
}

function report(at: {
  gateway: GatewayModel;
  method: string;
  path: string;
  how: string;
  verdict: Verdict;
  decision: DecisionTrace;
  identityOf: ResolvedIdentity | undefined;
  trace: RequestTrace;
}): ExplainReport {
  const { gateway, method, path, verdict, decision } = at;
  // Why: every route before the match, and what kept it from matching (the same matcher, one route at a time).
  const why: string[] = [];
  const canonical = canonicalizeTarget(path, gateway);
  let matched: (typeof gateway.routes)[number] | undefined;
  if (!canonical.ok) why.push(`the path was refused before routing: ${canonical.reason}`);
  else {
    for (const route of gateway.routes) {
      if (matchRoute([route], canonical.segments, method) !== undefined) {
        matched = route;
        why.push(`route ${route.index} '${route.path}' matches ${canonical.path} for ${method}: the first that does`);
        break;
      }
      const byPattern = matchRoute([{ pattern: route.pattern }], canonical.segments, method) !== undefined;
      why.push(`route ${route.index} '${route.path}' ${byPattern ? `matches the path but not ${method} (methods: ${[...route.methods!].join(', ')})` : 'does not match the path'}`);
    }
  }
  if (matched?.consumeRefs.length) why.push(`it consumes ${matched.consumeRefs.map((c) => `${c.feature}.${c.property} × ${c.units}`).join(', ')}`);
  if (matched?.requireRef) why.push(`it requires ${matched.requireRef.feature}.${matched.requireRef.property}`);

  const storeCalls = decision.storeCalls.map(({ call, result, error, ms }) => ({
    ms: round(ms),
    counters: call.counters.map((c) => {
      const usage = result?.readings[c.counterId]?.usage ?? {};
      return `${c.counterId}: ${c.periods.map((p) => `${usage[p] ?? '?'} used this ${p}`).join(', ')}${c.resourceHash === undefined ? '' : `; resource already counted: ${c.periods.map((p) => String(result?.readings[c.counterId]?.seen[p] ?? '?')).join('/')}`}`;
    }),
    consume: call.consume.map((c, i) => {
      const outcome = result?.consumed[i];
      const limit = c.meter === null ? 'no limit' : `limit ${c.meter.limit} per ${c.meter.period}`;
      return `${c.counterId} +${c.units} (${limit}): ${outcome === undefined ? 'not judged' : outcome.granted ? (outcome.free ? 'free (resource already counted)' : `granted ${outcome.units}`) : 'refused'}`;
    }),
    dryRun: call.dryRun,
    ...(call.grants === undefined ? {} : { grants: result?.grants?.map((g) => g.plan) ?? [] }),
    ...(error === undefined ? {} : { error }),
  }));

  const meters: string[] = [];
  const forwardedHeaders = verdict.kind === 'forward' ? verdict.headers : undefined;
  for (const { property, plan, value, counterId } of decision.values ?? []) {
    if (value.kind !== 'metered') continue;
    // The decision's store call that read this counter (the first: the declared step).
    const call = decision.storeCalls.find((c) => c.result !== undefined && c.call.counters.some((s) => s.counterId === counterId));
    const spec = call?.call.counters.find((c) => c.counterId === counterId);
    const used = spec === undefined ? undefined : call!.result!.readings[spec.counterId]?.usage[value.period];
    const consumed = call?.call.consume.find((c) => c.counterId === spec?.counterId);
    const index = consumed === undefined ? -1 : call!.call.consume.indexOf(consumed);
    const outcome = index === -1 ? undefined : call!.result!.consumed[index];
    let line = `${property} (plan ${plan}): ${used ?? 0} of ${value.limit} used this ${value.period}`;
    if (consumed !== undefined && outcome !== undefined) {
      line += outcome.granted
        ? outcome.free
          ? '; this resource was already counted: free'
          : `; + ${outcome.units} → ${(used ?? 0) + outcome.units} of ${value.limit}: allowed`
        : `; + ${consumed.units} would make ${(used ?? 0) + consumed.units} of ${value.limit}: refused`;
    }
    meters.push(line);
  }
  if (decision.gate !== undefined) meters.push(decision.gate.allowed ? 'the declared consumption is allowed' : `denied: the route's ${decision.gate.reason}`);

  const header = (value: string | string[] | undefined) => (Array.isArray(value) ? value.join(', ') : (value ?? ''));
  const result: ExplainReport['result'] =
    verdict.kind === 'forward'
      ? {
          kind: 'forward',
          outcome: verdict.outcome,
          target: verdict.target,
          upstreamHeaders: Object.fromEntries(
            Object.entries(forwardedHeaders!)
              .filter(([, value]) => value !== undefined)
              .map(([name, value]) => [name, header(value)]),
          ),
        }
      : {
          kind: 'answer',
          outcome: verdict.outcome,
          status: verdict.head.status,
          headers: Object.fromEntries(Object.entries(verdict.head.headers).map(([name, value]) => [name, header(value as string | string[])])),
          body: verdict.body.length > 2000 ? `${verdict.body.slice(0, 2000)}… (${verdict.body.length} bytes)` : verdict.body,
        };

  const identity = decision.identity ?? at.identityOf;
  let how = at.how;
  if (at.identityOf === undefined && at.how.startsWith('a JWT') && identity?.authType === 'anonymous')
    how = 'the JWT was rejected (the reason is logged as gateway-jwt-invalid): the visitor continued as anonymous';
  if (at.identityOf === undefined && at.how.startsWith('the signed') && verdict.kind === 'forward' && verdict.additions.setCookies.length > 0)
    how = 'the anonymous cookie was not accepted: the gateway gave a new id';
  return {
    request: { method, path },
    route: { matched: matched?.path ?? null, index: matched?.index, surface: matched?.surface, bypass: matched?.bypass, why },
    identity: { authType: identity?.authType, identifier: identity?.identifier, how },
    plans: decision.plans ?? [],
    properties: (decision.values ?? []).map(({ property, plan, value }) => ({ property, plan, value: describeValue(value) })),
    meters,
    storeCalls,
    workflows: decision.workflows.map((w) => ({ ...w, ms: round(w.ms) })),
    result,
  };
}

const round = (ms: number) => Math.round(ms * 100) / 100;

/** The report as text, for people. */
export function explainText(r: ExplainReport): string {
  const lines: string[] = [`${r.request.method} ${r.request.path}`, '', 'Route'];
  for (const line of r.route.why) lines.push(`  ${line}`);
  if (r.route.matched !== null) lines.push(r.route.bypass ? '  a bypass route: forwarded untouched, nothing decided' : `  surface: ${r.route.surface}`);
  lines.push('', 'Identity', `  ${r.identity.authType ?? '-'}${r.identity.identifier === undefined ? '' : ` ${r.identity.identifier}`}: ${r.identity.how}`);
  if (r.plans.length > 0) {
    lines.push('', 'Plans');
    for (const p of r.plans) lines.push(`  ${p.plan}: ${p.source}${p.expiresAt === undefined ? '' : ` until ${p.expiresAt}`}`);
  }
  if (r.properties.length > 0) {
    lines.push('', 'Properties (winning plan: value)');
    for (const p of r.properties) lines.push(`  ${p.property}: ${p.plan}: ${p.value}`);
  }
  if (r.meters.length > 0) {
    lines.push('', 'Meters');
    for (const m of r.meters) lines.push(`  ${m}`);
  }
  if (r.storeCalls.length > 0) {
    lines.push('', 'Store calls (dry: nothing recorded)');
    for (const c of r.storeCalls) {
      lines.push(`  ${c.ms} ms${c.grants === undefined ? '' : `, grants read: ${c.grants.length === 0 ? 'none' : c.grants.join(', ')}`}${c.error === undefined ? '' : `, failed: ${c.error}`}`);
      for (const counter of c.counters) lines.push(`    read ${counter}`);
      for (const consume of c.consume) lines.push(`    ${consume}`);
    }
  }
  if (r.workflows.length > 0) {
    lines.push('', 'Workflows');
    for (const w of r.workflows) lines.push(`  ${w.kind} ${relative(process.cwd(), w.file)}: ${w.ms} ms${w.ok ? '' : ' (failed: see the log)'}`);
  }
  lines.push('', 'Result');
  if (r.result.kind === 'forward') {
    lines.push(`  ${r.result.outcome}: the upstream receives ${r.request.method} ${r.result.target} with`);
    for (const [name, value] of Object.entries(r.result.upstreamHeaders)) lines.push(`    ${name}: ${value.length > 200 ? `${value.slice(0, 200)}…` : value}`);
  } else {
    lines.push(`  ${r.result.outcome}: the client gets ${r.result.status}`);
    for (const [name, value] of Object.entries(r.result.headers)) lines.push(`    ${name}: ${value}`);
    if (r.result.body !== '') lines.push('', r.result.body.split('\n').map((l) => `    ${l}`).join('\n'));
  }
  return `${lines.join('\n')}\n`;
}
