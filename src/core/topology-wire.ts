import { isValidFunctionName, type FunctionSpec } from './function-spec.js';
import type { TopologyEvent } from './ports.js';
import type { FunctionState, PodType, Replica } from './topology.js';

/**
 * The JSON the local supervisor's control API speaks (`GET /v1/topology`, the watch stream), shared by
 * the server (`http/supervisor-api.ts`) and the client (`orchestrators/supervisor/`). Both sides are the
 * same SlimFaas build, so the `FunctionSpec` travels as is; the client still checks the fields it
 * indexes on before trusting a message.
 */
export interface TopologyWire {
  readonly functions: readonly FunctionState[];
}

/**
 * One line of the watch stream (newline-delimited JSON). `seq` increases by one per message of a
 * supervisor run; a `snapshot` is always the first message of a connection.
 */
export type WatchMessage =
  | { readonly type: 'snapshot'; readonly seq: number; readonly functions: readonly FunctionState[] }
  | {
      readonly type: 'event';
      readonly seq: number;
      readonly event: TopologyEvent;
      /** The function's state when the event was emitted; absent for `function-removed`. */
      readonly function?: FunctionState;
    };

/** Header of a scale answer: the `seq` after which the watch stream reflects the new count. */
export const TOPOLOGY_SEQ_HEADER = 'x-slimfaas-topology-seq';
export const SUPERVISOR_TOKEN_HEADER = 'x-slimfaas-token';

/** Parses one watch line; undefined when it is not a well-formed message. */
export function parseWatchMessage(line: string): WatchMessage | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (!isObject(raw) || typeof raw.seq !== 'number') return undefined;
  if (raw.type === 'snapshot') {
    const functions = parseFunctions(raw.functions);
    return functions === undefined ? undefined : { type: 'snapshot', seq: raw.seq, functions };
  }
  if (raw.type !== 'event' || !isEvent(raw.event)) return undefined;
  if (raw.function === undefined) return { type: 'event', seq: raw.seq, event: raw.event };
  const fn = parseFunctionState(raw.function);
  return fn === undefined ? undefined : { type: 'event', seq: raw.seq, event: raw.event, function: fn };
}

export function parseFunctions(raw: unknown): readonly FunctionState[] | undefined {
  if (!Array.isArray(raw)) return undefined;
  const functions = raw.map(parseFunctionState);
  return functions.every((fn) => fn !== undefined) ? functions : undefined;
}

const POD_TYPES: readonly PodType[] = ['Deployment', 'StatefulSet', 'Process'];

function parseFunctionState(raw: unknown): FunctionState | undefined {
  if (!isObject(raw) || !isObject(raw.spec) || !Array.isArray(raw.replicas)) return undefined;
  const spec = raw.spec as unknown as FunctionSpec;
  if (typeof spec.name !== 'string' || !isValidFunctionName(spec.name)) return undefined;
  if (!Number.isSafeInteger(raw.requested) || !POD_TYPES.includes(raw.podType as PodType)) return undefined;
  const replicas = raw.replicas.map(parseReplica);
  if (!replicas.every((r) => r !== undefined)) return undefined;
  return Object.freeze({
    // JSON drops `undefined`; FunctionSpec declares `schedule` always present.
    spec: Object.freeze({ ...spec, schedule: spec.schedule ?? undefined }),
    podType: raw.podType as PodType,
    requested: raw.requested as number,
    replicas: Object.freeze(replicas),
  });
}

function parseReplica(raw: unknown): Replica | undefined {
  if (!isObject(raw)) return undefined;
  const { id, origin, ip, ready } = raw;
  if (typeof id !== 'string' || typeof origin !== 'string' || typeof ip !== 'string') return undefined;
  if (typeof ready !== 'boolean') return undefined;
  return Object.freeze({ ...(raw as unknown as Replica) });
}

function isEvent(raw: unknown): raw is TopologyEvent {
  if (!isObject(raw) || typeof raw.name !== 'string') return false;
  if (raw.kind === 'replica-ready') return typeof raw.replicaId === 'string';
  return raw.kind === 'function-changed' || raw.kind === 'function-removed';
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
