import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { SlimFaasError } from '../../core/errors.js';
import { StoreUnavailableError } from '../../core/state-store.js';
import { NatsLink } from './nats-link.js';
import { NatsQueues } from './nats-queues.js';
import {
  ACTIVITY_BUCKET,
  LEADER_BUCKET,
  QUEUE_BUCKET,
  VALUES_BUCKET,
  ensureStreams,
} from './nats-resources.js';

export interface NatsStateStoreOptions {
  /** e.g. `nats://127.0.0.1:4222`, or several URLs of one cluster. */
  readonly servers: string | readonly string[];
  /** Bound on every operation (each NATS request, and the whole operation); default 5000. */
  readonly timeoutMs?: number;
  /** The consumers' `ack_wait`: redelivery of a delivery no ledger knows (its store died); default 300 000. */
  readonly ackWaitMs?: number;
  /** The consumers' `max_ack_pending`: leased + waiting-for-retry elements per queue across replicas; default 1000. */
  readonly maxAckPending?: number;
  /** Connection name shown by the server (diagnostics). */
  readonly name?: string;
  /** Copies of every stream and bucket it creates: 1 on one server (default), 3 on a 3-node cluster. */
  readonly replicas?: number;
}

export const DEFAULT_TIMEOUT_MS = 5_000;

export interface Resources {
  readonly nc: NatsConnection;
  /** Up or down, from the connection's status events: operations fail fast while it is down. */
  readonly link: NatsLink;
  readonly queues: NatsQueues;
  readonly activityKv: KV;
  readonly valuesKv: KV;
  /** One key, `leader`: the leadership lease (see nats-leadership.ts). */
  readonly leaderKv: KV;
}

/**
 * Streams and buckets, created if missing, each with `replicas` copies. The queues and leader buckets have
 * `allow_direct: false`: their reads go to the stream leader, so in a cluster a read is never older than the
 * compare-and-set it prepares (a ledger, a lease).
 */
export async function openResources(
  nc: NatsConnection,
  options: {
    readonly timeoutMs: number;
    readonly ackWaitMs: number;
    readonly maxAckPending: number;
    readonly replicas: number;
  },
): Promise<Resources> {
  const { timeoutMs, replicas } = options;
  const link = new NatsLink(nc);
  const js = jetstream(nc, { timeout: timeoutMs });
  const jsm = await jetstreamManager(nc, { timeout: timeoutMs });
  await ensureStreams(jsm, replicas);
  const kvm = new Kvm(js);
  const [queuesKv, activityKv, valuesKv, leaderKv] = await Promise.all([
    kvm.create(QUEUE_BUCKET, { history: 1, allow_direct: false, replicas }),
    kvm.create(ACTIVITY_BUCKET, { history: 1, replicas }),
    kvm.create(VALUES_BUCKET, { history: 1, replicas }),
    kvm.create(LEADER_BUCKET, { history: 1, allow_direct: false, replicas }),
  ]);
  const queues = new NatsQueues({ ...options, nc, js, jsm, kv: queuesKv });
  return { nc, link, queues, activityKv, valuesKv, leaderKv };
}

/** Connects (reconnecting forever afterwards) and opens the resources, within `timeoutMs`. */
export async function connectResources(options: NatsStateStoreOptions): Promise<Resources> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  let nc: NatsConnection | undefined;
  try {
    nc = await connect({
      servers: typeof options.servers === 'string' ? options.servers : [...options.servers],
      name: options.name ?? 'slimfaas',
      timeout: timeoutMs,
      reconnect: true,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      // Measured (issue 6): capturing an async stack per request cost ~6 % of SlimFaas's CPU under load.
      noAsyncTraces: true,
    });
    const limits = {
      timeoutMs,
      ackWaitMs: options.ackWaitMs ?? 300_000,
      maxAckPending: options.maxAckPending ?? 1_000,
      replicas: options.replicas ?? 1,
    };
    return await withDeadline(openResources(nc, limits), timeoutMs);
  } catch (error) {
    await nc?.close().catch(() => undefined);
    throw toStoreError(error, 'cannot open the NATS store');
  }
}

export function withDeadline<T>(promise: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer from NATS within ${timeoutMs} ms`)), timeoutMs);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

/** NATS errors become `store_unavailable` (cause kept); our own `SlimFaasError`s (bad_request…) pass through. */
export function toStoreError(error: unknown, context: string): SlimFaasError {
  if (error instanceof SlimFaasError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new StoreUnavailableError(`${context}: ${message}`, { cause: error });
}

/** The first nats-server release whose clustered compare-and-set is serializable (nats-io/nats-server#4320). */
export const SERIALIZABLE_CAS_SINCE = '2.9.21';

/**
 * Why compare-and-set cannot be trusted with `replicas` copies on a server of `version`, or undefined. Before
 * 2.9.21 a clustered stream checks an update's expected revision before the Raft proposal only, so concurrent
 * updates of one key with the same revision can all succeed (bench/nats-cas-race.mjs: 62 of 562 lost on R3 with
 * 2.9.10, none on R1): ledger writes, claims and the leadership lease can then be lost.
 */
export function replicatedCasWarning(version: string | undefined, replicas: number): string | undefined {
  if (replicas <= 1 || version === undefined) return undefined;
  const [major = 0, minor = 0, patch = 0] = version.split(/[.-]/).map(Number);
  const [fixMajor, fixMinor, fixPatch] = SERIALIZABLE_CAS_SINCE.split('.').map(Number) as [
    number,
    number,
    number,
  ];
  const older =
    major !== fixMajor ? major < fixMajor : minor !== fixMinor ? minor < fixMinor : patch < fixPatch;
  return older
    ? `nats-server ${version} with ${replicas} replicas: compare-and-set is not serializable before ${SERIALIZABLE_CAS_SINCE} (nats-io/nats-server#4320); async deliveries can be duplicated or delayed until ack_wait, and two nodes can briefly both lead. Upgrade nats-server, or use SLIMFAAS_NATS_REPLICAS=1`
    : undefined;
}
