/**
 * Which SlimFaas node leads: only the leader scales functions and dispatches async requests (reference §6,
 * SlimData's Raft leader). Implementations: `SingleNodeLeadership` (one process, the embedded store) and
 * `NatsLeadership` (a lease in a NATS KV bucket, for several replicas sharing one JetStream).
 *
 * Contract:
 * - At most one node of a cluster has `isLeader() === true` at any instant, as long as the nodes' clocks run
 *   at the same rate (no wall-clock agreement is needed: leases are measured as durations on each node).
 * - A leader that cannot confirm its lease stops being leader by its own clock (`isLeader()` turns false
 *   without any I/O) before any other node may take over.
 * - `isLeader()` is cheap and synchronous (called on every scaler evaluation and dispatch pass).
 * - Listeners are called, asynchronously, each time `isLeader()` changes; never during `subscribe`.
 * - `close()` releases a held lease at once (a successor takes over without waiting for it to expire), then
 *   `isLeader()` stays false. Idempotent.
 */
export interface Leadership {
  /** This node's id, unique per process (diagnostics, dashboard, `/status`). */
  readonly nodeId: string;
  isLeader(): boolean;
  /** The leader as last observed by this node: its own id when it leads; `undefined` when unknown or expired. */
  leaderId(): string | undefined;
  /** Returns an unsubscribe function. */
  subscribe(listener: (isLeader: boolean) => void): () => void;
  /** Starts campaigning (and renewing once elected). Idempotent. */
  start(): void;
  close(): Promise<void>;
}

/** The embedded store has a single writer: its one process always leads. */
export class SingleNodeLeadership implements Leadership {
  readonly nodeId: string;
  #closed = false;

  constructor(nodeId: string) {
    this.nodeId = nodeId;
  }

  isLeader(): boolean {
    return !this.#closed;
  }

  leaderId(): string | undefined {
    return this.#closed ? undefined : this.nodeId;
  }

  subscribe(): () => void {
    return () => undefined;
  }

  start(): void {}

  close(): Promise<void> {
    this.#closed = true;
    return Promise.resolve();
  }
}

/** The timings of a lease of `leaseMs`, derived so that a leader always steps down before a takeover. */
export interface LeaseTimings {
  readonly leaseMs: number;
  /** The leader rewrites its lease this often. */
  readonly renewMs: number;
  /** A leader whose last confirmed renewal was sent more than `leaseMs − marginMs` ago is no longer leader. */
  readonly marginMs: number;
  /** Followers read the lease this often (a released or expired lease is taken within this delay). */
  readonly pollMs: number;
  /** Bound on one election request, so a hung request never delays the next renewal. */
  readonly requestTimeoutMs: number;
}

/**
 * renew = lease/3 (two renewals may fail before stepping down), margin = lease/3 (absorbs event-loop stalls
 * and clock-rate drift), poll = lease/6.
 */
export function leaseTimings(leaseMs: number): LeaseTimings {
  const third = Math.max(1, Math.floor(leaseMs / 3));
  return {
    leaseMs,
    renewMs: third,
    marginMs: third,
    pollMs: Math.max(1, Math.floor(leaseMs / 6)),
    requestTimeoutMs: third,
  };
}
