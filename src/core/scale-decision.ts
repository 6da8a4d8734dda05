import type { FunctionActivity } from './activity.js';
import type { FunctionState } from './topology.js';

/** Why a function is (or is being made) awake or asleep: logged and shown to operators. */
export type ScaleReason =
  | 'request' // recent activity on the function itself (or a wake)
  | 'queue' // its async queue holds work (ready, in flight or waiting for a retry)
  | 'any-function-request' // ReplicasStartAsSoonAsOneFunctionRetrieveARequest
  | 'schedule' // a SlimFaas/Schedule WakeUp time
  | 'dependant' // a function that depends on this one is active
  | 'default-never-called' // PodScaledUpByDefaultWhenInfrastructureHasNeverCalled
  | 'idle-timeout' // inactive for longer than the timeout: back to ReplicasMin
  | 'below-min'; // fewer than ReplicasMin replicas

export interface ScaleDecision {
  readonly name: string;
  readonly from: number;
  readonly to: number;
  readonly reason: ScaleReason;
}

export interface ScaleInput {
  readonly functions: readonly FunctionState[];
  readonly activity: (name: string) => FunctionActivity;
  readonly nowMs: number;
  /** `PodScaledUpByDefaultWhenInfrastructureHasNeverCalled` (server setting, default false). */
  readonly scaledUpByDefaultWhenNeverCalled?: boolean;
  /**
   * Whether the function's async queue holds work. Only changes the reason (`queue` instead of `request`):
   * the dispatcher already records that work as activity. Default: no queue.
   */
  readonly queued?: (name: string) => boolean;
}
