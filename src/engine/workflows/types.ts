// The types workflow authors write against. Exported from the package and declared as ambient
// globals (src/workflow-globals.d.ts), so a workflow file may use them without importing anything.
import type { HttpBehavior, MeterableProperty, ResolvedIdentity, ScalarProperty } from '../types.js';

export interface WorkflowIdentity extends ResolvedIdentity {
  userType: 'anonymous' | 'authenticated';
  /** A stable bucket 0–99: the first 4 bytes of SHA-256(identifier) as an unsigned big-endian integer, mod 100. */
  testGroup100: number;
}

/** A meterable property in a workflow: its current state plus the operations on its counter. */
export interface MeterableHandle extends MeterableProperty {
  /** Consume units (default 1) under the property's meter; resolves to the property after the attempt. */
  consume(units?: number): Promise<MeterableProperty>;
  /** Record units (default 1) whatever the state, even past the limit. */
  incrementCounter(units?: number): Promise<MeterableProperty>;
}

export type PropertyHandle = ScalarProperty | MeterableHandle;
export type WorkflowFeatures = Record<string, Record<string, any>>;

export interface WorkflowResource {
  id?: string;
  meta?: Record<string, unknown>;
  [extra: string]: unknown;
}

export interface WorkflowContext {
  surfaceSlug: string;
  dryRun: boolean;
  http?: { url?: string; method?: string; userAgent?: string; clientIP?: string; referer?: string; cookies?: Record<string, string> };
  [extra: string]: unknown;
}

export interface ProvisioningInput {
  identity: WorkflowIdentity;
  env: Record<string, string | undefined>;
}
export type ProvisioningWorkflow = (input: ProvisioningInput) => Promise<string[]> | string[];

export interface SurfaceInput {
  identity: WorkflowIdentity;
  features: WorkflowFeatures;
  resource: WorkflowResource;
  context: WorkflowContext;
  env: Record<string, string | undefined>;
}
export interface SurfaceResult {
  properties?: Record<string, unknown>;
  http?: HttpBehavior;
}
export type SurfaceWorkflow = (input: SurfaceInput) => Promise<SurfaceResult | void> | SurfaceResult | void;

export interface ComponentInput extends SurfaceInput {
  surfaceProperties: Record<string, unknown>;
}
export interface ComponentResult {
  properties?: Record<string, unknown>;
  content?: unknown;
}
export type ComponentWorkflow = (input: ComponentInput) => Promise<ComponentResult | void> | ComponentResult | void;
