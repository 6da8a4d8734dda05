import { createRequire } from 'node:module';
import type { Pool as UndiciPool } from 'undici';
import type { StoredRequest } from '../core/async-request.js';
import type { LeasedElement } from '../core/state-store.js';
import type { AttemptOutcome } from './async-next-step.js';

/**
 * undici's `Pool` and its request API, without undici's index, which also loads fetch, WebSocket, EventSource,
 * the caches and the mock agent: ~8 MiB of resident memory that SlimFaas, using only pools, should not pay
 * (bench/README.md, idle RSS). The `Object.assign` is the index's own line that gives every dispatcher
 * `request()`, `stream()`…; these internal paths are pinned by undici's `~7.30` range in package.json (the same
 * block is in src/http/upstream-pools.ts, which may not import this layer).
 */
const requireUndici = createRequire(import.meta.url);
const Pool = requireUndici('undici/lib/dispatcher/pool.js') as typeof UndiciPool;
type Pool = UndiciPool;
Object.assign(
  (requireUndici('undici/lib/dispatcher/dispatcher.js') as { prototype: object }).prototype,
  requireUndici('undici/lib/api/index.js'),
);

/**
 * Stored headers that are not replayed as stored: `Host` (the replica gets its own authority, like the sync
 * proxy), `Content-Length` (recomputed from the stored body), hop-by-hop fields (RFC 9110 §7.6.1; the route
 * already drops them, this is defence in depth), `Expect` (undici refuses it) and the three try headers,
 * which the dispatcher sets itself.
 */
const NOT_REPLAYED = new Set([
  'host',
  'content-length',
  'connection',
  'proxy-connection',
  'keep-alive',
  'te',
  'transfer-encoding',
  'upgrade',
  'trailer',
  'expect',
  'slimfaas-element-id',
  'slimfaas-try-number',
  'slimfaas-last-try',
]);

/** The stored headers plus SlimFaas's try headers (reference §4.3 step 8, as a flat list for undici). */
export function attemptHeaders(request: StoredRequest, element: LeasedElement): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < request.headers.length; i += 2) {
    const name = request.headers[i] as string;
    if (!NOT_REPLAYED.has(name.toLowerCase())) out.push(name, request.headers[i + 1] as string);
  }
  out.push(
    'SlimFaas-Element-Id',
    element.id,
    'SlimFaas-Try-Number',
    String(element.attempt),
    'Slimfaas-Last-Try',
    String(element.lastAttempt),
  );
  return out;
}

/** One keep-alive pool per replica origin; pools of replicas that left the topology are closed. */
export class DeliveryPools {
  readonly #pools = new Map<string, Pool>();

  get(origin: string): Pool {
    let pool = this.#pools.get(origin);
    if (pool === undefined) {
      pool = new Pool(origin, {
        pipelining: 1,
        keepAliveTimeout: 4_000,
        keepAliveMaxTimeout: 60_000,
        connect: { timeout: 5_000 },
      });
      this.#pools.set(origin, pool);
    }
    return pool;
  }

  /** Closes the pools whose origin is not in `live` (their requests in flight finish or fail first). */
  retain(live: ReadonlySet<string>): void {
    for (const [origin, pool] of this.#pools) {
      if (live.has(origin)) continue;
      this.#pools.delete(origin);
      pool.close().catch(() => undefined);
    }
  }

  async destroyAll(): Promise<void> {
    const pools = [...this.#pools.values()];
    this.#pools.clear();
    await Promise.allSettled(pools.map((p) => p.destroy()));
  }
}

export interface AttemptRequest {
  readonly pool: Pool;
  readonly request: StoredRequest;
  readonly headers: readonly string[];
  /** HttpTimeout: bounds the wait for the status line (connecting included), then the wait for the body. */
  readonly timeoutMs: number;
  /** Aborted when the dispatcher closes or loses leadership: the attempt is abandoned, not reported. */
  readonly signal: AbortSignal;
}

export type AttemptResult =
  | {
      readonly kind: 'outcome';
      readonly outcome: AttemptOutcome;
      /** Settles once the response body was discarded (or dropped with its connection). */
      readonly bodyDone: Promise<void>;
    }
  | { readonly kind: 'abandoned' };

/**
 * Sends one attempt and resolves as soon as the outcome is known (the status line, a timeout or a transport
 * error); the response body is read and discarded meanwhile, nothing is streamed back. Never rejects.
 */
export async function sendAttempt(attempt: AttemptRequest): Promise<AttemptResult> {
  const { request, timeoutMs, signal } = attempt;
  const controller = new AbortController();
  const abandon = (): void => controller.abort(signal.reason);
  if (signal.aborted) return { kind: 'abandoned' };
  signal.addEventListener('abort', abandon, { once: true });
  let timedOut = false;
  let timer = setTimeout(() => {
    timedOut = true;
    controller.abort(new Error('HttpTimeout'));
  }, timeoutMs);
  const release = (): void => {
    clearTimeout(timer);
    signal.removeEventListener('abort', abandon);
  };
  try {
    const response = await attempt.pool.request({
      method: request.method,
      path: request.path,
      headers: [...attempt.headers],
      // Replayed exactly, also for GET and DELETE: the function gets the body it was sent.
      body: request.body.length > 0 ? request.body : null,
      signal: controller.signal,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
    // A slow or endless body must not hold the replica's slot forever: it gets one more HttpTimeout.
    clearTimeout(timer);
    timer = setTimeout(() => controller.abort(new Error('HttpTimeout (body)')), timeoutMs);
    const bodyDone = response.body
      .dump({ limit: 1024 * 1024 })
      .then(
        () => undefined,
        () => undefined,
      )
      .finally(release);
    return { kind: 'outcome', outcome: { kind: 'response', status: response.statusCode }, bodyDone };
  } catch (error) {
    release();
    if (signal.aborted) return { kind: 'abandoned' };
    const code = errorCode(error);
    const outcome: AttemptOutcome =
      timedOut || code === 'UND_ERR_HEADERS_TIMEOUT' ? { kind: 'timeout' } : { kind: 'error', error: code };
    return { kind: 'outcome', outcome, bodyDone: Promise.resolve() };
  }
}

/** undici's `UND_ERR_*` or the system's `E*` code, else the error's name. */
function errorCode(error: unknown): string {
  if (typeof error === 'object' && error !== null) {
    const { code, name } = error as { code?: unknown; name?: unknown };
    if (typeof code === 'string' && code !== '') return code;
    if (typeof name === 'string' && name !== '') return name;
  }
  return 'unknown';
}
