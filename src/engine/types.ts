// The decision as it goes on the wire (MonetizationOS surface-decisions format, docs/concepts.md "The decision on the wire"),
// and what templates are rendered with (built by template-values.ts).
import type { Period } from './meters/store.js';

export type AuthType = 'anonymous' | 'jwt' | 'provided';

export interface ResolvedIdentity {
  authType: AuthType;
  identifier: string;
  isAuthenticated: boolean;
  /** Verified claims as received, in the token's order; `{}` for anonymous and provided identities. */
  jwtClaims: Record<string, unknown>;
}

export interface ScalarProperty {
  type: 'boolean' | 'number' | 'string';
  value: boolean | number | string | null;
  isFallback: boolean;
}

export interface MeterableProperty {
  type: 'meterable';
  counterId: string;
  hasAccess: boolean;
  isFallback: boolean;
  consumedUnits?: number;
  remainingUnits?: number;
  totalUnits?: number;
  periodStart?: string;
  uniqueResources?: boolean;
  resourceIdUsed?: boolean;
  consumedInRequest?: boolean;
  consumedUnitsInRequest?: number;
  excessUnitsInRequest?: number;
}

export type PropertyDecision = ScalarProperty | MeterableProperty;

export interface FeatureDecision {
  featureId: string;
  featureSlug: string;
  properties: Record<string, PropertyDecision>;
}

export interface Customer {
  isCustomer: boolean;
  hasProducts: boolean;
  customerIdentifiers: string[];
}

/** Replace form and modify form of surfaceBehavior.http, as MonetizationOS defines them. */
export interface HttpBehavior {
  status?: number;
  statusText?: string;
  headers?: Record<string, string>;
  cookies?: string[];
  addHeaders?: { name: string; value: string }[];
  removeHeaders?: string[];
  addCookies?: string[];
  body?: string | null;
}

export interface SurfaceBehavior {
  properties?: Record<string, unknown>;
  http?: HttpBehavior;
}

export interface ComponentBehavior {
  properties?: Record<string, unknown>;
  /** A workflow's output, unchecked: `ComponentContent` once validated (src/engine/components/check-output.ts). */
  content?: unknown;
  metadata: { cssSelector: string };
}

/** Something a component inserts: raw HTML, text (escaped), or a custom element for a schema `src:id@version`. */
export type ContentInsertion = { type: 'html' | 'text'; content: string } | { type: 'element'; schema: string; props: unknown };

/** The operations of a component's `content`, applied to every element its selector matches (docs/components.md). */
export interface ComponentContent {
  before?: ContentInsertion[];
  prepend?: ContentInsertion[];
  append?: ContentInsertion[];
  after?: ContentInsertion[];
  remove?: boolean;
  /** Replaces what lies between two marker elements inside the matched element, keeping both markers. */
  replaceRange?: { fromMarker?: string; toMarker?: string; replaceWith?: ContentInsertion[] };
}

/** Where a plan in effect came from; a plan with several sources is listed once per source. */
export interface PlanSource {
  plan: string;
  source: 'automatic' | 'rule' | 'workflow' | 'grant';
  /** A grant's expiry (ISO 8601); absent for a grant until revoked and for every other source. */
  expiresAt?: string;
}

export interface SurfaceDecision {
  status: 'success';
  eventId: string;
  identity: ResolvedIdentity;
  customer: Customer;
  features: Record<string, FeatureDecision>;
  surfaceBehavior: SurfaceBehavior;
  componentsSkipped: boolean;
  componentBehaviors: Record<string, ComponentBehavior>;
  /** Present (true) only when the meter store could not answer and the failure policy applied. */
  degraded?: true;
  /** Present when the config reads grants (`store.grants`): every plan in effect and its source. */
  plans?: PlanSource[];
}

export interface AccessCheck {
  status: 'success';
  eventId: string;
  identity: ResolvedIdentity;
  customer: Customer;
  features: Record<string, FeatureDecision>;
  degraded?: true;
  plans?: PlanSource[];
}

/** What paywall pages and declared components are rendered with (docs/components.md "Template values"). */
export interface TemplateValues {
  /** Whether the request was denied (or, report-only, would have been). */
  denied: boolean;
  /** `consumption` (the free allowance is used up), `requirement` (the plan does not include it), or '' when not denied. */
  reason: '' | 'consumption' | 'requirement';
  /** The name of the feature the request is metered or guarded by ('' when none). */
  feature: string;
  /** Units left on that feature's meter after this request; null when it has no meter (unlimited, off, or none). */
  remaining: number | null;
  limit: number | null;
  /** The meter's period (day, week, month, year, lifetime); null without a meter. */
  period: Period | null;
  /** The names of the visitor's plans, in config order. */
  plans: string[];
  /** The names of plans the visitor does not have that give more of the feature. */
  upgradePlans: string[];
  authenticated: boolean;
  /** The path and query the visitor asked for (always a local path; `/` when unknown). Escaped on output like every value. */
  returnPath: string;
  /** `returnPath`, percent-encoded for a query parameter. */
  returnParam: string;
  /** The configured sign-in and plans pages with the return path added, or '' when not configured. */
  loginUrl: string;
  plansUrl: string;
  /** The surface workflow's properties. */
  properties: Record<string, unknown>;
}
