// Ambient declarations so workflow files can use the workflow types without an import, as the
// MonetizationOS console does (the tutorial's provisioning workflow imports nothing). A .ts file
// (not .d.ts) so the build emits dist/workflow-globals.d.ts for editors of workflow files.
import type * as T from './engine/workflows/types.js';

declare global {
  type ProvisioningWorkflow = T.ProvisioningWorkflow;
  type SurfaceWorkflow = T.SurfaceWorkflow;
  type ComponentWorkflow = T.ComponentWorkflow;
  type WorkflowIdentity = T.WorkflowIdentity;
  type MeterableHandle = T.MeterableHandle;
}
export {};
