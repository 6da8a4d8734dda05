import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { SlimFaasError } from '../core/errors.js';
import { isValidFunctionName } from '../core/function-spec.js';
import type { Logger, Orchestrator, TopologyEvent } from '../core/ports.js';
import { SUPERVISOR_TOKEN_HEADER, TOPOLOGY_SEQ_HEADER, type WatchMessage } from '../core/topology-wire.js';
import { sendEmpty, sendError, sendJson } from './error-response.js';
import { readBody } from './read-body.js';

/** A watcher further behind than this (a stuck node) is cut; it reconnects and gets a fresh snapshot. */
const MAX_WATCH_BACKLOG_BYTES = 8 * 1024 * 1024;
const MAX_SCALE_BODY_BYTES = 1024;
const SCALE_ROUTE = /^\/v1\/functions\/([^/]*)\/scale$/;

/**
 * The local supervisor's control API (reference §1.12), served on 127.0.0.1 only, for the SlimFaas
 * nodes of `cluster.nodes > 1`. Every request must carry `X-SlimFaas-Token` (else 401):
 * - `GET /v1/topology` → `{"functions":[FunctionState…]}`;
 * - `GET /v1/topology/watch` → newline-delimited JSON: a snapshot, then one line per topology event
 *   with the function's state at that moment (no polling: nodes learn a change when it happens);
 * - `PUT /v1/functions/{name}/scale` `{"replicas":n}` → 204 (with `X-SlimFaas-Topology-Seq`: the watch
 *   message from which the new count is visible), 404 unknown, 400 invalid name or body.
 */
export class SupervisorApi {
  readonly #orchestrator: Orchestrator;
  readonly #token: Buffer;
  readonly #logger: Logger;
  readonly #watchers = new Set<ServerResponse>();
  readonly #unsubscribe: () => void;
  #seq = 0;

  constructor(options: { orchestrator: Orchestrator; token: string; logger: Logger }) {
    this.#orchestrator = options.orchestrator;
    this.#token = Buffer.from(options.token);
    this.#logger = options.logger;
    this.#unsubscribe = options.orchestrator.subscribe((event) => this.#broadcast(event));
  }

  readonly handle = (req: IncomingMessage, res: ServerResponse): void => {
    this.#route(req, res).catch((error: unknown) => {
      this.#logger.error({ err: error }, 'supervisor API request failed');
      sendError(res, 'internal_error', 'internal error');
    });
  };

  /** Ends every watch stream and stops listening to the orchestrator. Idempotent. */
  close(): void {
    this.#unsubscribe();
    for (const res of this.#watchers) res.end();
    this.#watchers.clear();
  }

  async #route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!this.#authorized(req)) {
      sendError(res, 'unauthorized', `missing or wrong ${SUPERVISOR_TOKEN_HEADER} header`);
      return;
    }
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (path === '/v1/topology' || path === '/v1/topology/watch') {
      if (req.method !== 'GET') {
        sendError(res, 'method_not_allowed', `${req.method} not allowed`, { allow: 'GET' });
      } else if (path === '/v1/topology') {
        sendJson(res, 200, { functions: [...this.#orchestrator.functions().values()] });
      } else {
        this.#watch(res);
      }
      return;
    }
    const scale = SCALE_ROUTE.exec(path);
    if (scale === null) {
      sendError(res, 'route_not_found', `no route ${path}`);
    } else if (req.method !== 'PUT') {
      sendError(res, 'method_not_allowed', `${req.method} not allowed`, { allow: 'PUT' });
    } else {
      await this.#scale(req, res, decodeName(scale[1] ?? ''));
    }
  }

  #authorized(req: IncomingMessage): boolean {
    const given = req.headers[SUPERVISOR_TOKEN_HEADER];
    if (typeof given !== 'string') return false;
    const buffer = Buffer.from(given);
    return buffer.length === this.#token.length && timingSafeEqual(buffer, this.#token);
  }

  async #scale(req: IncomingMessage, res: ServerResponse, name: string | undefined): Promise<void> {
    if (name === undefined || !isValidFunctionName(name)) {
      sendError(res, 'bad_request', 'invalid function name (a DNS-1123 label)');
      return;
    }
    const body = await readBody(req, MAX_SCALE_BODY_BYTES);
    if (body.kind !== 'ok') {
      sendError(res, 'bad_request', 'expected a body {"replicas": n} of at most 1 KiB');
      return;
    }
    const replicas = parseReplicas(body.body.toString('utf8'));
    if (replicas === undefined) {
      sendError(res, 'bad_request', 'expected a body {"replicas": n} with n a non-negative integer');
      return;
    }
    try {
      await this.#orchestrator.setReplicas(name, replicas);
    } catch (error) {
      if (!(error instanceof SlimFaasError)) throw error;
      sendError(res, error.code, error.message);
      return;
    }
    res.setHeader(TOPOLOGY_SEQ_HEADER, String(this.#seq));
    sendEmpty(res, 204);
  }

  #watch(res: ServerResponse): void {
    res.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store' });
    res.flushHeaders();
    const snapshot: WatchMessage = {
      type: 'snapshot',
      seq: this.#seq,
      functions: [...this.#orchestrator.functions().values()],
    };
    res.write(`${JSON.stringify(snapshot)}\n`);
    this.#watchers.add(res);
    res.once('close', () => this.#watchers.delete(res));
  }

  #broadcast(event: TopologyEvent): void {
    this.#seq += 1;
    const fn = this.#orchestrator.functions().get(event.name);
    const message: WatchMessage = {
      type: 'event',
      seq: this.#seq,
      event,
      ...(fn === undefined || event.kind === 'function-removed' ? {} : { function: fn }),
    };
    const line = `${JSON.stringify(message)}\n`;
    for (const res of this.#watchers) {
      if (res.writableLength > MAX_WATCH_BACKLOG_BYTES) {
        this.#logger.warn({}, 'supervisor watch client too slow: disconnecting it');
        res.destroy();
        continue;
      }
      res.write(line);
    }
  }
}

function decodeName(raw: string): string | undefined {
  try {
    return decodeURIComponent(raw);
  } catch {
    return undefined;
  }
}

function parseReplicas(text: string): number | undefined {
  try {
    const value = JSON.parse(text) as unknown;
    if (typeof value !== 'object' || value === null) return undefined;
    const replicas = (value as { replicas?: unknown }).replicas;
    return typeof replicas === 'number' && Number.isSafeInteger(replicas) && replicas >= 0
      ? replicas
      : undefined;
  } catch {
    return undefined;
  }
}
