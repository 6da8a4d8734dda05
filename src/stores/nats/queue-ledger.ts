import type { RetryPolicy } from '../../core/function-spec.js';
import { LEASE_EXPIRED, maxAttempts, type AttemptEnd, type AttemptRecord } from '../../core/state-store.js';

/**
 * One element the consumer has delivered and not yet acked or terminated. The ledger of a queue (one KV value,
 * updated by compare-and-set) is the authority for leases, retry times and attempt counts: they follow the
 * caller's `nowMs`, never the server's clock, as the port requires.
 */
export interface LedgerEntry {
  readonly id: string;
  /** Stream sequence of the queue message: the FIFO position, kept across retries. */
  readonly seq: number;
  /** Reply subject of the latest delivery; any connection may ack, term or `+WPI` through it. */
  ackSubject: string;
  readonly enqueuedAtMs: number;
  readonly policy: RetryPolicy;
  readonly payloadBytes: number;
  /** Enqueued with a caller-generated id (`QueueElement.newId`): no idempotence claim to delete at the end. */
  readonly claimless?: true;
  /** Dispatches so far (0 while `ready`). */
  attempts: number;
  history: AttemptRecord[];
  /** `ready`: delivered to a store but not handed out yet (leasable now). */
  state: 'ready' | 'leased' | 'delayed';
  leaseToken?: string;
  leaseExpiresAtMs?: number;
  owner?: string;
  notBeforeMs?: number;
}

export type Ledger = Record<string, LedgerEntry>;

export type DeadEntry = LedgerEntry & { readonly deadAtMs: number };

export function parseLedger(json: string | undefined): Ledger {
  return json === undefined || json === '' ? {} : (JSON.parse(json) as Ledger);
}

export function endAttempt(entry: LedgerEntry, end: AttemptEnd): void {
  const last = entry.history.at(-1);
  if (last === undefined || last.endedAtMs !== undefined) return;
  const ended: { -readonly [K in keyof AttemptRecord]: AttemptRecord[K] } = {
    startedAtMs: last.startedAtMs,
    endedAtMs: end.endedAtMs,
  };
  if (end.lastStatus !== undefined) ended.status = end.lastStatus;
  if (end.lastError !== undefined) ended.error = end.lastError;
  entry.history[entry.history.length - 1] = ended;
}

function clearLease(entry: LedgerEntry): void {
  delete entry.leaseToken;
  delete entry.leaseExpiresAtMs;
  delete entry.owner;
}

/**
 * Ends every lease expired at `nowMs` at its expiry with `LEASE_EXPIRED`. An element on its last attempt is
 * removed and returned (the caller dead-letters it); any other one becomes due for its next attempt.
 */
export function reclaimExpired(ledger: Ledger, nowMs: number): DeadEntry[] {
  const dead: DeadEntry[] = [];
  for (const entry of Object.values(ledger)) {
    const expiresAtMs = entry.leaseExpiresAtMs;
    if (entry.state !== 'leased' || expiresAtMs === undefined || expiresAtMs > nowMs) continue;
    endAttempt(entry, { endedAtMs: expiresAtMs, lastError: LEASE_EXPIRED });
    clearLease(entry);
    if (entry.attempts >= maxAttempts(entry.policy)) {
      delete ledger[entry.id];
      dead.push({ ...entry, deadAtMs: expiresAtMs });
    } else {
      entry.state = 'delayed';
      entry.notBeforeMs = expiresAtMs;
    }
  }
  return dead;
}

export function isDue(entry: LedgerEntry, nowMs: number): boolean {
  return entry.state === 'ready' || (entry.state === 'delayed' && (entry.notBeforeMs ?? 0) <= nowMs);
}

/** Due entries, oldest enqueue position first. */
export function dueEntries(ledger: Ledger, nowMs: number): LedgerEntry[] {
  return Object.values(ledger)
    .filter((entry) => isDue(entry, nowMs))
    .sort((a, b) => a.seq - b.seq);
}

export function startLease(
  entry: LedgerEntry,
  lease: { readonly nowMs: number; readonly leaseMs: number; readonly owner: string; readonly token: string },
): void {
  entry.state = 'leased';
  entry.attempts += 1;
  entry.history.push({ startedAtMs: lease.nowMs });
  entry.leaseToken = lease.token;
  entry.leaseExpiresAtMs = lease.nowMs + lease.leaseMs;
  entry.owner = lease.owner;
  delete entry.notBeforeMs;
}

export function scheduleRetry(entry: LedgerEntry, end: AttemptEnd, notBeforeMs: number): void {
  endAttempt(entry, end);
  clearLease(entry);
  entry.state = 'delayed';
  entry.notBeforeMs = notBeforeMs;
}

/** Whether `token` holds the lease of `id` (an expired lease not reclaimed yet still counts). */
export function leaseCheck(ledger: Ledger, id: string, token: string): 'held' | 'lease-lost' | 'absent' {
  const entry = ledger[id];
  if (entry === undefined) return 'absent';
  return entry.state === 'leased' && entry.leaseToken === token ? 'held' : 'lease-lost';
}

/** Earliest retry time or lease expiry in the ledger. */
export function nextAvailableAtMs(ledger: Ledger): number | undefined {
  let next: number | undefined;
  for (const entry of Object.values(ledger)) {
    const at = entry.state === 'delayed' ? entry.notBeforeMs : entry.leaseExpiresAtMs;
    if (entry.state !== 'ready' && at !== undefined && (next === undefined || at < next)) next = at;
  }
  return next;
}

export function countStates(ledger: Ledger): { ready: number; inFlight: number; retryPending: number } {
  const counts = { ready: 0, inFlight: 0, retryPending: 0 };
  for (const entry of Object.values(ledger)) {
    if (entry.state === 'ready') counts.ready++;
    else if (entry.state === 'leased') counts.inFlight++;
    else counts.retryPending++;
  }
  return counts;
}
