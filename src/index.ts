// What the plangate package exports: the engine as a library, the config loader, the decision API
// app, and the types workflow authors and upstream applications write against.
import type { EventLogger } from './events.js';
import './workflow-globals.js';
export type {
  ProvisioningWorkflow,
  ProvisioningInput,
  SurfaceWorkflow,
  SurfaceInput,
  SurfaceResult,
  ComponentWorkflow,
  ComponentInput,
  ComponentResult,
  WorkflowIdentity,
  WorkflowFeatures,
  WorkflowResource,
  WorkflowContext,
  MeterableHandle,
  PropertyHandle,
} from './engine/workflows/types.js';
export type * from './engine/types.js';
export type { DecisionRequest, DecisionOutcome, IdentityInput, Engine } from './engine/engine.js';
export type { EventLogger, EventCode } from './events.js';
export { EVENTS } from './events.js';
export type { MeterStore, MeterCall, MeterCallResult } from './engine/meters/store.js';
export type { Model } from './engine/model.js';
export type { ConfigFile } from './config/schema.js';
export { ConfigSchema } from './config/schema.js';
export { loadConfig } from './config/load.js';
export { ConfigError } from './config/errors.js';
export { createEngine } from './engine/create-engine.js';
export { EngineError } from './engine/errors.js';
export { MemoryMeterStore } from './engine/meters/memory.js';
export { createMeterStore } from './engine/meters/create-store.js';
export { StoreUnavailableError } from './engine/meters/store.js';
export { createJwtVerifier } from './engine/identity/jwt.js';
export { createRuntime, loadRuntime } from './ops/runtime.js';
export { createApiApp } from './api/app.js';
export { verifyPlangateHeaders, plangateVerifier, canonicalString } from './verify/index.js';
export type { VerifyOptions, VerifyInput, VerifyResult, VerifiedHeaders, VerifyFailure, VerifyKey, PlangateRequest } from './verify/index.js';
