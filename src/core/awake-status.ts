import { livenessByName } from './decide-replicas.js';
import type { ScaleInput } from './scale-decision.js';
import { scaleDownTimeoutSeconds } from './schedule.js';

/**
 * Why a function has replicas, as shown to operators. The scaler's own reasons (`ScaleReason`) plus
 * `queue` (its async queue holds work) and `min-replicas` (idle, but `ReplicasMin` keeps it up).
 * `request` covers a sync call, an event delivery and an explicit wake (a wake counts as a request).
 */
export type AwakeReason =
  | 'request'
  | 'queue'
  | 'schedule'
  | 'dependency'
  | 'any-function-request'
  | 'default-never-called'
  | 'min-replicas';

export interface AwakeStatus {
  /** `null` while the function has no replica requested (asleep). */
  readonly reason: AwakeReason | null;
  /** The function's own last activity (0: never since this process started). */
  readonly lastActivityMs: number;
  /** Requests (and wakes) running now. */
  readonly inFlight: number;
  /**
   * When the scaler will bring it back to `ReplicasMin` if nothing else happens; `null` when no
   * scale-down is pending (asleep, at its minimum, busy, or its queue holds work).
   */
  readonly scaleDownAtMs: number | null;
}

/**
 * Per function: why it is awake and when it would scale down, by the rules of `decideReplicas`
 * (the same liveness, idle test and timeout, including schedules). `queued(name)` says whether the
 * function's async queue holds work (ready, in flight or waiting for a retry).
 */
export function awakeStatus(
  input: ScaleInput & { readonly queued: (name: string) => boolean },
): Map<string, AwakeStatus> {
  const liveness = livenessByName(input);
  const result = new Map<string, AwakeStatus>();
  for (const fn of input.functions) {
    const { spec } = fn;
    const own = input.activity(spec.name);
    const live = liveness.get(spec.name) ?? { lastActiveMs: 0, reason: 'request' as const };
    const timeoutMs =
      scaleDownTimeoutSeconds(spec.schedule, input.nowMs, spec.timeoutSecondBeforeSetReplicasMin) * 1000;
    const idle = live.lastActiveMs === 0 || live.lastActiveMs + timeoutMs < input.nowMs;
    const queued = input.queued(spec.name);
    let reason: AwakeReason | null = null;
    if (fn.requested > 0) {
      if (queued) reason = 'queue';
      else if (idle) reason = 'min-replicas';
      else reason = live.reason === 'dependant' ? 'dependency' : live.reason;
    }
    const busy = own.inFlight > 0 || queued || live.lastActiveMs >= input.nowMs;
    const pending = fn.requested > spec.replicasMin && !idle && !busy;
    result.set(spec.name, {
      reason,
      lastActivityMs: own.lastActivityMs,
      inFlight: own.inFlight,
      scaleDownAtMs: pending ? live.lastActiveMs + timeoutMs : null,
    });
  }
  return result;
}
