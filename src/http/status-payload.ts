import type { ActivityEvent } from '../core/activity-feed.js';
import type { AwakeStatus } from '../core/awake-status.js';
import type { ClockTime, FunctionSchedule, RetryPolicy } from '../core/function-spec.js';
import type { QueueCounts } from '../core/state-store.js';
import type { FunctionState, Replica } from '../core/topology.js';
import { functionStatus } from './routes/status-routes.js';

/** One SlimFaas process, as the stream's `SlimFaasNodes` shows it. */
export interface SlimFaasNode {
  readonly id: string;
  readonly leader: boolean;
  readonly ready: boolean;
}

/**
 * SlimFaas's `FunctionStatusDetailed` (reference §1.6; same field names and order), followed by our
 * additions for the dashboard: `LastActivityMs`, `InFlight`, `ScaleDownAtMs`, `AwakeReason`.
 * `Resources` and `Scale` are `null`: local processes have no resource requests and N→M autoscaling
 * is not implemented.
 */
export function functionStatusDetailed(fn: FunctionState, awake: AwakeStatus | undefined): object {
  const { spec } = fn;
  const base = functionStatus(fn);
  return {
    Name: spec.name,
    NumberReady: base.NumberReady,
    NumberRequested: fn.requested,
    PodType: fn.podType,
    Visibility: spec.defaultVisibility,
    Trust: spec.defaultTrust,
    ReplicasMin: spec.replicasMin,
    ReplicasAtStart: spec.replicasAtStart,
    TimeoutSecondBeforeSetReplicasMin: spec.timeoutSecondBeforeSetReplicasMin,
    NumberParallelRequest: spec.numberParallelRequest,
    NumberParallelRequestPerPod: spec.numberParallelRequestPerPod,
    Resources: null,
    Schedule: spec.schedule === undefined ? null : scheduleJson(spec.schedule),
    Scale: null,
    Retry: {
      DefaultAsync: retryJson(spec.configuration.defaultAsync),
      DefaultPublish: retryJson(spec.configuration.defaultPublish),
    },
    SubscribeEvents: spec.subscribeEvents.map((s) => ({ Name: s.name, Visibility: s.visibility })),
    PathsStartWithVisibility: spec.pathsStartWithVisibility.map((p) => ({
      Path: p.path,
      Visibility: p.visibility,
    })),
    DependsOn: spec.dependsOn,
    Pods: fn.replicas.map(podJson),
    LastActivityMs: awake?.lastActivityMs ?? 0,
    InFlight: awake?.inFlight ?? 0,
    ScaleDownAtMs: awake?.scaleDownAtMs ?? null,
    AwakeReason: awake?.reason ?? null,
  };
}

/** Pod `Status` as SlimFaas orders it: `Running` if ready, else the failure reason, else `Starting`. */
function podJson(replica: Replica): object {
  return {
    Name: replica.id,
    Status: replica.ready ? 'Running' : (replica.failureReason ?? 'Starting'),
    Ready: replica.ready,
    Ip: replica.ip,
  };
}

function retryJson(policy: RetryPolicy): object {
  return {
    HttpTimeout: policy.httpTimeoutSeconds,
    TimeoutRetries: policy.timeoutRetriesSeconds,
    HttpStatusRetries: policy.httpStatusRetries,
  };
}

function clock(time: ClockTime): string {
  return `${String(time.hour).padStart(2, '0')}:${String(time.minute).padStart(2, '0')}`;
}

function scheduleJson(schedule: FunctionSchedule): object {
  return {
    TimeZoneID: schedule.timeZoneId,
    Default: {
      WakeUp: schedule.wakeUp.map(clock),
      ScaleDownTimeout: schedule.scaleDownTimeout.map((s) => ({
        Time: clock(s.time),
        Value: s.valueSeconds,
      })),
    },
  };
}

/** SlimFaas's `{Name, Length}` (Length = ready + in flight + waiting for a retry) plus each count. */
export function queueJson(name: string, counts: QueueCounts): object {
  return {
    Name: name,
    Length: counts.ready + counts.inFlight + counts.retryPending,
    Ready: counts.ready,
    InFlight: counts.inFlight,
    RetryPending: counts.retryPending,
    Dead: counts.dead,
  };
}

/** SlimFaas's `{Name, Status}` node entry, plus `Leader`. */
export function nodeJson(node: SlimFaasNode): object {
  return { Name: node.id, Status: node.ready ? 'Running' : 'Starting', Leader: node.leader };
}

/**
 * One activity event on the wire: `Id` (`<node>-<n>`), `Type` (the kind), `Function`, `Replica`,
 * `TimestampMs`, `NodeId`, then the details that are set (`Status`, `Error`, `From`, `To`, `Reason`,
 * `Event`, `Attempt`, `Outcome`).
 */
export function activityJson(event: ActivityEvent, id: string, nodeId: string): object {
  return {
    Id: id,
    Type: event.kind,
    Function: event.function,
    Replica: event.replica ?? null,
    TimestampMs: event.timestampMs,
    NodeId: nodeId,
    ...(event.status === undefined ? {} : { Status: event.status }),
    ...(event.error === undefined ? {} : { Error: event.error }),
    ...(event.from === undefined ? {} : { From: event.from }),
    ...(event.to === undefined ? {} : { To: event.to }),
    ...(event.reason === undefined ? {} : { Reason: event.reason }),
    ...(event.event === undefined ? {} : { Event: event.event }),
    ...(event.attempt === undefined ? {} : { Attempt: event.attempt }),
    ...(event.outcome === undefined ? {} : { Outcome: event.outcome }),
  };
}
