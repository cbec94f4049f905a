// The headers the upstream receives with a decided request (docs/gateway.md "Headers the upstream receives"), all under one prefix.
// Every value is plain ASCII: scalars are percent-encoded exactly like encodeURIComponent (decode with
// decodeURIComponent or any URL decoder that does not turn `+` into a space), objects are base64url
// JSON. CR, LF and non-ASCII characters therefore can never reach the upstream as raw bytes.
//
//   <p>id                  the identifier (JWT claim value or anonymous id), percent-encoded
//   <p>auth-type           anonymous | jwt | provided
//   <p>authenticated       true | false
//   <p>plans               plan slugs in config order, comma-separated (slugs need no encoding)
//   <p><feature>--<prop>   boolean/number: as JSON (true, 3.5); string: percent-encoded; null: empty;
//                          meterable: `access=1` or `access=0`, plus `; remaining=N; limit=N` when a
//                          meter with units applies (not for on, off or a degraded meter)
//   <p>surface-properties  base64url JSON of surfaceBehavior.properties ({} when none)
//   <p>degraded            true | false (the meter store could not answer; the failure policy applied)
//   <p>denied              only on `deny.action: forward` or a soft denial, when the request was denied: requirement | consumption
//   <p>dry-run             only on a dry run (HEAD, a CORS preflight, a prefetch): 1; nothing was recorded
//   <p>report-only         only on a report-only route (`enforce: false`): 1; nothing was recorded
//   <p>would-deny          only there, when the decision would have denied: requirement | consumption
//   <p>decision            only with injectDecision: the whole decision, base64url JSON; left out (with
//                          a `decision-header-too-large` warning) when over 8 KB
import type { EventLogger } from '../events.js';
import type { DecisionOutcome } from '../engine/engine.js';
import type { PropertyDecision } from '../engine/types.js';

export const MAX_DECISION_HEADER_BYTES = 8192;
const EMPTY_OBJECT = Buffer.from('{}').toString('base64url');

/** The fixed names the injector writes (with the prefix), besides one per feature property and `decision`. */
const FIXED_NAMES = ['id', 'auth-type', 'authenticated', 'plans', 'surface-properties', 'degraded', 'denied', 'dry-run', 'report-only', 'would-deny'] as const;

/**
 * Every header name the injector can write for these features, lowercase: the proxy configs of
 * forward-auth list them one by one (stock nginx cannot match a header prefix).
 */
export function injectedHeaderNames(
  prefix: string,
  features: readonly { slug: string; properties: readonly { slug: string }[] }[],
  injectDecision: boolean,
): string[] {
  const names = FIXED_NAMES.map((name) => `${prefix}${name}`);
  for (const feature of features) for (const property of feature.properties) names.push(`${prefix}${feature.slug}--${property.slug}`.toLowerCase());
  if (injectDecision) names.push(`${prefix}decision`);
  return names;
}

export interface InjectOptions {
  prefix: string;
  injectDecision: boolean;
  logger: EventLogger;
}

export type InjectedHeaders = Record<string, string>;

/** What the enforcement step adds to the decision's headers. */
export interface InjectFlags {
  /** The request was denied and forwarded anyway (`deny.action: forward`, or a soft denial). */
  forwardedDenial: boolean;
  /** Decided as a dry run: nothing was recorded. */
  dryRun: boolean;
  /** A report-only route: decided dry, forwarded whatever the decision. */
  reportOnly?: boolean;
}

/** Builds the injector once (header names are cached per feature property). It writes into `into` (a fresh record by default) and returns it. */
export function createHeaderInjector(options: InjectOptions): (outcome: DecisionOutcome, flags: InjectFlags, into?: InjectedHeaders) => InjectedHeaders {
  const { prefix } = options;
  // Per feature, per property: no key string is built per request.
  const names = new Map<string, Map<string, string>>();
  const nameFor = (feature: string, property: string): string => {
    let ofFeature = names.get(feature);
    if (ofFeature === undefined) names.set(feature, (ofFeature = new Map()));
    let name = ofFeature.get(property);
    if (name === undefined) {
      name = `${prefix}${feature}--${property}`.toLowerCase();
      ofFeature.set(property, name);
    }
    return name;
  };

  // The fixed header names, built once.
  const [ID, AUTH_TYPE, AUTHENTICATED, PLANS, SURFACE_PROPERTIES, DEGRADED, DENIED, DRY_RUN, REPORT_ONLY, WOULD_DENY] = FIXED_NAMES.map((name) => `${prefix}${name}`);
  const DECISION = `${prefix}decision`;

  return (outcome, flags, headers = {}) => {
    const { decision } = outcome;
    headers[ID] = percentEncode(decision.identity.identifier);
    headers[AUTH_TYPE] = decision.identity.authType;
    headers[AUTHENTICATED] = decision.identity.isAuthenticated ? 'true' : 'false';
    headers[PLANS] = outcome.plans.join(',');
    const features = decision.features;
    for (const featureSlug in features) {
      const properties = features[featureSlug].properties;
      for (const propertySlug in properties) headers[nameFor(featureSlug, propertySlug)] = propertyValue(properties[propertySlug]);
    }
    const surfaceProperties = decision.surfaceBehavior.properties;
    headers[SURFACE_PROPERTIES] =
      surfaceProperties === undefined ? EMPTY_OBJECT : (base64urlJson(surfaceProperties, options.logger, 'surface-properties') ?? EMPTY_OBJECT);
    headers[DEGRADED] = decision.degraded === true ? 'true' : 'false';
    if (flags.forwardedDenial && outcome.denied) headers[DENIED] = outcome.denialReason ?? 'requirement';
    if (flags.dryRun) headers[DRY_RUN] = '1';
    if (flags.reportOnly === true) {
      headers[REPORT_ONLY] = '1';
      if (outcome.denied) headers[WOULD_DENY] = outcome.denialReason ?? 'requirement';
    }
    if (options.injectDecision) {
      const encoded = base64urlJson(decision, options.logger, 'decision');
      if (encoded !== undefined && encoded.length > MAX_DECISION_HEADER_BYTES) {
        options.logger.event('warn', 'decision-header-too-large', { bytes: encoded.length, limit: MAX_DECISION_HEADER_BYTES, eventId: decision.eventId });
      } else if (encoded !== undefined) headers[DECISION] = encoded;
    }
    return headers;
  };
}

function propertyValue(property: PropertyDecision): string {
  if (property.type === 'meterable') {
    const access = property.hasAccess ? 'access=1' : 'access=0';
    return property.remainingUnits === undefined ? access : `${access}; remaining=${property.remainingUnits}; limit=${property.totalUnits ?? 0}`;
  }
  const { value } = property;
  if (value === null) return '';
  if (typeof value === 'string') return percentEncode(value);
  return String(value);
}

/** encodeURIComponent, also for strings with lone surrogates (they become U+FFFD instead of throwing). */
export function percentEncode(value: string): string {
  try {
    return encodeURIComponent(value);
  } catch {
    return encodeURIComponent(Buffer.from(value, 'utf8').toString('utf8'));
  }
}

/** base64url JSON, or undefined (logged) for values JSON cannot represent (cycles, BigInt). */
function base64urlJson(value: unknown, logger: EventLogger, what: string): string | undefined {
  try {
    return Buffer.from(JSON.stringify(value) ?? 'null', 'utf8').toString('base64url');
  } catch (error) {
    logger.event('warn', 'header-encoding-failed', { header: what, error: (error as Error).message });
    return undefined;
  }
}
