import type { FunctionActivity } from './activity.js';
import type { FunctionSpec } from './function-spec.js';
import type { ScaleDecision, ScaleInput, ScaleReason } from './scale-decision.js';
import { lastWakeUp, scaleDownTimeoutSeconds } from './schedule.js';
import { readyReplicas, type FunctionState } from './topology.js';

type AwakeReason = Exclude<ScaleReason, 'idle-timeout' | 'below-min'>;

/** When a function was last active (0: never) and which rule made it so. */
export interface Liveness {
  readonly lastActiveMs: number;
  readonly reason: AwakeReason;
}

const NEVER_ACTIVE: Liveness = { lastActiveMs: 0, reason: 'request' };

/**
 * Reference §4.1, as a pure function of the snapshot and `nowMs`: returns one decision per function
 * whose desired replica count differs from `requested`, with the reason. Counts above ReplicasMin
 * set by an HPA/KEDA are left alone while the function is active.
 */
export function decideReplicas(input: ScaleInput): ScaleDecision[] {
  const byName = new Map(input.functions.map((fn) => [fn.spec.name, fn]));
  const own = ownLiveness(input);
  const dependants = dependantsOf(input.functions);
  const decisions: ScaleDecision[] = [];
  for (const fn of input.functions) {
    const liveness = withDependants(fn.spec.name, own, dependants);
    const decision = decideOne(fn, liveness, byName, input.nowMs);
    if (decision !== undefined) decisions.push(decision);
  }
  return decisions;
}

/**
 * Steps 1–4 of §4.1 alone: when each function counts as last active, and why. The same rules as
 * `decideReplicas`, for showing operators why a function is awake (core/awake-status.ts).
 */
export function livenessByName(input: ScaleInput): Map<string, Liveness> {
  const own = ownLiveness(input);
  const dependants = dependantsOf(input.functions);
  return new Map(input.functions.map((fn) => [fn.spec.name, withDependants(fn.spec.name, own, dependants)]));
}

/** A request still running (or a wake still waiting) counts as activity now, so long calls never time out. */
function requestActivityMs(activity: FunctionActivity, nowMs: number): number {
  return activity.inFlight > 0 ? nowMs : activity.lastActivityMs;
}

/** Steps 1–3 of §4.1: the function's own activity, start-with-any, never-called default, schedule. */
function ownLiveness(input: ScaleInput): Map<string, Liveness> {
  const { nowMs } = input;
  const requestMs = new Map(
    input.functions.map((fn) => [fn.spec.name, requestActivityMs(input.activity(fn.spec.name), nowMs)]),
  );
  const anyRequestMs = Math.max(0, ...requestMs.values());
  const result = new Map<string, Liveness>();
  for (const { spec } of input.functions) {
    let live: Liveness = {
      lastActiveMs: requestMs.get(spec.name) ?? 0,
      reason: input.queued?.(spec.name) === true ? 'queue' : 'request',
    };
    if (spec.replicasStartAsSoonAsOneFunctionRetrieveARequest && anyRequestMs > live.lastActiveMs) {
      live = { lastActiveMs: anyRequestMs, reason: 'any-function-request' };
    }
    if (input.scaledUpByDefaultWhenNeverCalled === true && live.lastActiveMs === 0) {
      live = { lastActiveMs: nowMs, reason: 'default-never-called' };
    }
    const wakeUpMs = lastWakeUp(spec.schedule, nowMs);
    if (wakeUpMs !== undefined && wakeUpMs > live.lastActiveMs) {
      live = { lastActiveMs: wakeUpMs, reason: 'schedule' };
    }
    result.set(spec.name, live);
  }
  return result;
}

/** For each function name, the functions that list it in `DependsOn`. */
function dependantsOf(functions: readonly FunctionState[]): Map<string, string[]> {
  const dependants = new Map<string, string[]>();
  for (const { spec } of functions) {
    for (const dependency of spec.dependsOn) {
      dependants.set(dependency, [...(dependants.get(dependency) ?? []), spec.name]);
    }
  }
  return dependants;
}

/**
 * Step 4, applied transitively: a function is as active as anything that depends on it, directly or
 * through a chain (A←B←C: C's activity keeps B and A up). The visited set makes cycles harmless.
 */
function withDependants(
  name: string,
  own: ReadonlyMap<string, Liveness>,
  dependants: ReadonlyMap<string, readonly string[]>,
): Liveness {
  let best = own.get(name) ?? NEVER_ACTIVE;
  const seen = new Set([name]);
  const pending = [...(dependants.get(name) ?? [])];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    if (seen.has(next)) continue;
    seen.add(next);
    const theirs = own.get(next)?.lastActiveMs ?? 0;
    if (theirs > best.lastActiveMs) best = { lastActiveMs: theirs, reason: 'dependant' };
    pending.push(...(dependants.get(next) ?? []));
  }
  return best;
}

/**
 * A dependency is ready when its ready replicas reach its ReplicasAtStart (at least one: a dependency
 * with `ReplicasAtStart: "0"` is not ready with none). Names that are not functions count as ready, as
 * in SlimFaas (reference §2, Appendix A #8).
 */
function dependenciesReady(spec: FunctionSpec, byName: ReadonlyMap<string, FunctionState>): boolean {
  return spec.dependsOn.every((name) => {
    const dependency = byName.get(name);
    return (
      dependency === undefined ||
      readyReplicas(dependency).length >= Math.max(1, dependency.spec.replicasAtStart)
    );
  });
}

/** Reasons that mean a caller is waiting for a replica: a call, queued work, or a dependant's call. */
const DEMAND: ReadonlySet<ScaleReason> = new Set<ScaleReason>(['request', 'queue', 'dependant']);

/**
 * The count a function wakes to: ReplicasAtStart, never below ReplicasMin, and at least 1 when a caller
 * waits (SlimFaas wakes to 0 with `ReplicasAtStart: "0"`, so the call hangs; docs/compatibility.md). A wake
 * by schedule, start-with-any or never-called default keeps ReplicasAtStart as given, 0 included.
 */
function wakeTarget(spec: FunctionSpec, reason: ScaleReason): number {
  const target = Math.max(spec.replicasAtStart, spec.replicasMin);
  return DEMAND.has(reason) ? Math.max(1, target) : target;
}

/** Steps 5–8 of §4.1 for one function. */
function decideOne(
  fn: FunctionState,
  live: Liveness,
  byName: ReadonlyMap<string, FunctionState>,
  nowMs: number,
): ScaleDecision | undefined {
  const { spec, requested: cur } = fn;
  const timeoutSeconds = scaleDownTimeoutSeconds(
    spec.schedule,
    nowMs,
    spec.timeoutSecondBeforeSetReplicasMin,
  );
  // Never active counts as idle; at exactly t + T the function is still active.
  const idle = live.lastActiveMs === 0 || live.lastActiveMs + timeoutSeconds * 1000 < nowMs;
  let to = cur;
  let reason: ScaleReason = live.reason;
  if (idle) {
    to = spec.replicasMin;
    reason = to > cur ? 'below-min' : 'idle-timeout';
  } else if ((cur === 0 || cur < spec.replicasMin) && dependenciesReady(spec, byName)) {
    // Waking: ReplicasAtStart, never below ReplicasMin. A dependency not ready yet is woken through
    // the dependant rule; the scaler runs again once it is ready.
    to = wakeTarget(spec, reason);
    if (cur > 0) reason = 'below-min';
  }
  // Infrastructure guard (step 8): no scale-up while a replica cannot be scheduled; scale-down still allowed.
  if (to > cur && fn.replicas.some((replica) => replica.unschedulable === true)) to = cur;
  return to === cur ? undefined : { name: spec.name, from: cur, to, reason };
}
