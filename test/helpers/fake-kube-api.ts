import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { FakeControllers } from './fake-kube-controllers.js';
import { FakeJobController, type JobControllerBehaviour } from './fake-kube-job-controller.js';
import { createJob, deleteJob } from './fake-kube-jobs.js';
import { readyPod, type PodBehaviour, type PodRequest } from './fake-kube-pods.js';
import { selectorOf, sendStatus, statusBody } from './fake-kube-http.js';
import { FakeKubeStore, type FakeKind, type KubeObject } from './fake-kube-store.js';
import { deploymentObject, scaleWorkload, type WorkloadDefinition } from './fake-kube-workloads.js';

export type { PodBehaviour, PodRequest } from './fake-kube-pods.js';
export { FAKE_JOB_ENV, type JobControllerBehaviour } from './fake-kube-job-controller.js';
export { functionAnnotations, type WorkloadDefinition } from './fake-kube-workloads.js';

export interface FakeKubeApiOptions {
  readonly namespace?: string;
  /** Default pod behaviour; `readyDelayMs` defaults to 50. */
  readonly pods?: PodBehaviour;
  /** Timing of the simulated Job controller (fake-kube-job-controller.ts). */
  readonly jobs?: JobControllerBehaviour;
  /** How a stale resourceVersion is refused on a watch: an ERROR event (Kubernetes' usual way) or HTTP 410. */
  readonly goneAs?: 'event' | 'http';
  /** Faults armed before the first request (see `failNext`). */
  readonly faults?: readonly FaultDefinition[];
  /** Serve HTTPS with this PEM key and certificate (as a real API server does) instead of HTTP. */
  readonly tls?: { readonly key: string; readonly cert: string };
  /** When set, a request without `Authorization: Bearer <token>` answers 401 (as a real API server does). */
  readonly requireToken?: string;
}

export interface FaultDefinition {
  readonly method: string;
  readonly pathIncludes: string;
  readonly status: number;
  /** How many matching requests fail; default 1. */
  readonly times?: number;
}

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
  readonly contentType: string | undefined;
  readonly authorization: string | undefined;
  readonly status: number;
}

interface Fault {
  readonly method: string;
  readonly pathIncludes: string;
  readonly status: number;
  remaining: number;
}

const COLLECTION =
  /^\/(api\/v1|apis\/apps\/v1|apis\/batch\/v1)\/namespaces\/([^/]+)\/(deployments|statefulsets|pods|jobs)(?:\/([^/]+)(\/scale)?)?$/;

/** The API group path of each collection (a pod under `apis/apps/v1` is a 404, as in Kubernetes). */
const GROUP: Readonly<Record<FakeKind, string>> = {
  pods: 'api/v1',
  deployments: 'apis/apps/v1',
  statefulsets: 'apis/apps/v1',
  jobs: 'apis/batch/v1',
};

const LIST_KIND: Readonly<Record<FakeKind, string>> = {
  pods: 'PodList',
  deployments: 'DeploymentList',
  statefulsets: 'StatefulSetList',
  jobs: 'JobList',
};

/**
 * A fake Kubernetes API server on 127.0.0.1 that speaks the real wire format for what SlimFaas uses:
 * list and watch (`?watch=true&resourceVersion=N`, newline-delimited ADDED/MODIFIED/DELETED/BOOKMARK
 * events) of deployments, statefulsets and pods in a namespace; 410 Gone for a compacted version;
 * GET/PATCH `…/scale` with `application/merge-patch+json`; GET of one object by name; batch/v1
 * Jobs: list, watch, create, delete (fake-kube-jobs.ts); `?labelSelector=` on lists and watches.
 * Controllers create real pods (fake-kube-controllers.ts) and run Jobs (fake-kube-job-controller.ts).
 * Faults: `dropWatches`, `compact`, `failNext`.
 */
export class FakeKubeApi {
  readonly store = new FakeKubeStore();
  readonly namespace: string;
  readonly requests: RecordedRequest[] = [];
  readonly #server: Server;
  readonly #controllers: FakeControllers;
  readonly #jobController: FakeJobController;
  readonly #goneAs: 'event' | 'http';
  readonly #requireToken: string | undefined;
  readonly #scheme: 'http' | 'https';
  readonly #watches = new Set<ServerResponse>();
  readonly #faults: Fault[] = [];
  #url = '';

  private constructor(options: FakeKubeApiOptions) {
    this.namespace = options.namespace ?? 'default';
    this.#goneAs = options.goneAs ?? 'event';
    this.#controllers = new FakeControllers(this.store, this.namespace, {
      readyDelayMs: 50,
      ...options.pods,
    });
    this.#jobController = new FakeJobController(this.store, this.namespace, options.jobs);
    this.#requireToken = options.requireToken;
    this.#scheme = options.tls === undefined ? 'http' : 'https';
    const handler = (req: IncomingMessage, res: ServerResponse): void => this.#handle(req, res);
    // An https.Server is an http.Server as far as listen/close/closeAllConnections go.
    this.#server =
      options.tls === undefined
        ? createServer(handler)
        : createHttpsServer({ key: options.tls.key, cert: options.tls.cert }, handler);
    for (const fault of options.faults ?? []) this.failNext(fault);
  }

  static async start(options: FakeKubeApiOptions = {}): Promise<FakeKubeApi> {
    const api = new FakeKubeApi(options);
    await new Promise<void>((resolve) => api.#server.listen(0, '127.0.0.1', resolve));
    api.#url = `${api.#scheme}://127.0.0.1:${(api.#server.address() as AddressInfo).port}`;
    return api;
  }

  get url(): string {
    return this.#url;
  }

  /** A KubeConfig for this server (as `loadFromOptions` would build from a kubeconfig file). */
  kubeConfig(): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromString(this.kubeconfigYaml());
    return kc;
  }

  /** A kubeconfig file's content pointing at this server, for `KUBECONFIG`. */
  kubeconfigYaml(): string {
    return JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'fake', cluster: { server: this.#url, 'insecure-skip-tls-verify': true } }],
      users: [{ name: 'fake', user: { token: 'fake-token' } }],
      contexts: [{ name: 'fake', context: { cluster: 'fake', user: 'fake', namespace: this.namespace } }],
      'current-context': 'fake',
    });
  }

  /** Creates or replaces a Deployment (or StatefulSet); its controller creates `replicas` pods. */
  apply(definition: WorkloadDefinition): KubeObject {
    const kind: FakeKind = definition.kind === 'StatefulSet' ? 'statefulsets' : 'deployments';
    return this.store.put(kind, deploymentObject(definition, this.namespace));
  }

  deleteWorkload(kind: 'Deployment' | 'StatefulSet', name: string): void {
    this.store.delete(kind === 'StatefulSet' ? 'statefulsets' : 'deployments', name);
  }

  setPodBehaviour(workload: string, behaviour: PodBehaviour): void {
    this.#controllers.setBehaviour(workload, behaviour);
  }

  /** Pods currently stored, optionally those whose name starts with `prefix`. */
  pods(prefix = ''): KubeObject[] {
    return this.store.list('pods').filter((p) => p.metadata.name.startsWith(prefix));
  }

  /** Turns a pod Ready, as its readiness probe passing would (e.g. one created with `neverReady`). */
  markPodReady(name: string): void {
    const pod = this.store.get('pods', name);
    if (pod === undefined) throw new Error(`no pod ${name}`);
    this.store.put('pods', readyPod(pod));
  }

  /** Requests the pods' servers received, optionally those of pods whose name starts with `prefix`. */
  podRequests(prefix = ''): PodRequest[] {
    return this.#controllers.received.filter((r) => r.pod.startsWith(prefix));
  }

  /** Deletes a pod as `kubectl delete pod` would (its server stops; the controller replaces it). */
  deletePod(name: string): void {
    this.store.delete('pods', name);
  }

  /** Cuts every open watch connection abruptly (a dropped TCP connection, not a clean end). */
  dropWatches(): number {
    const count = this.#watches.size;
    for (const res of this.#watches) res.socket?.destroy();
    this.#watches.clear();
    return count;
  }

  /** How many watch connections are open. */
  get openWatches(): number {
    return this.#watches.size;
  }

  /** Forgets history: every resourceVersion handed out so far is now too old (410 Gone). */
  compact(): void {
    this.store.compact();
  }

  /** The next `times` requests matching method and path answer `status` with a Status body; returns a disarm. */
  failNext(fault: FaultDefinition): () => void {
    const armed = { ...fault, remaining: fault.times ?? 1 };
    this.#faults.push(armed);
    return () => {
      armed.remaining = 0;
    };
  }

  /** The current attempt of Job `name` exits with `exitCode` now (see FakeJobController.exit). */
  exitJob(name: string, exitCode: number): boolean {
    return this.#jobController.exit(name, exitCode);
  }

  /** Sends a BOOKMARK carrying the current resourceVersion on every open watch. */
  bookmark(): void {
    const event = {
      type: 'BOOKMARK',
      object: { metadata: { resourceVersion: String(this.store.resourceVersion) } },
    };
    for (const res of this.#watches) res.write(`${JSON.stringify(event)}\n`);
  }

  async close(): Promise<void> {
    this.#jobController.close();
    await this.#controllers.close();
    for (const res of this.#watches) res.socket?.destroy();
    await new Promise<void>((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://fake');
    const method = req.method ?? 'GET';
    const record = (status: number): void => {
      this.requests.push({
        method,
        path: url.pathname,
        query: url.searchParams,
        contentType: req.headers['content-type'],
        authorization: req.headers.authorization,
        status,
      });
    };
    if (this.#requireToken !== undefined && req.headers.authorization !== `Bearer ${this.#requireToken}`) {
      record(401);
      req.resume();
      sendStatus(res, 401, 'Unauthorized', 'missing or wrong bearer token');
      return;
    }
    const fault = this.#faults.find(
      (f) => f.remaining > 0 && f.method === method && url.pathname.includes(f.pathIncludes),
    );
    if (fault !== undefined) {
      fault.remaining--;
      record(fault.status);
      req.resume();
      sendStatus(res, fault.status, 'InternalError', 'injected fault');
      return;
    }
    const match = COLLECTION.exec(url.pathname) as
      [string, string, string, FakeKind, string | undefined, string | undefined] | null;
    if (match === null || match[2] !== this.namespace || GROUP[match[3]] !== match[1]) {
      record(404);
      sendStatus(res, 404, 'NotFound', `no route for ${url.pathname}`);
      return;
    }
    const [, , , kind, name, scale] = match;
    const reply = (code: number, reason: string, message: string): number =>
      sendStatus(res, code, reason, message);
    if (name === undefined && method === 'GET') {
      const status =
        url.searchParams.get('watch') === 'true' ? this.#watch(kind, url, res) : this.#list(kind, url, res);
      record(status);
      return;
    }
    if (kind === 'jobs' && name === undefined && method === 'POST') {
      void createJob(this.store, { namespace: this.namespace, req, res, reply }).then(record);
      return;
    }
    if (kind === 'jobs' && name !== undefined && method === 'DELETE') {
      const onDeleted = (job: KubeObject, policy: string | undefined): void =>
        this.#jobController.collect(job, policy);
      void deleteJob(this.store, { name, query: url.searchParams, req, res, reply, onDeleted }).then(record);
      return;
    }
    if (name !== undefined && scale !== undefined && kind !== 'pods' && kind !== 'jobs') {
      void scaleWorkload(this.store, { kind, name, namespace: this.namespace, req, res, reply }).then(record);
      return;
    }
    if (name !== undefined && scale === undefined && method === 'GET') {
      record(this.#get(kind, name, res));
      return;
    }
    record(405);
    sendStatus(res, 405, 'MethodNotAllowed', `${method} ${url.pathname} is not supported by the fake`);
  }

  #get(kind: FakeKind, name: string, res: ServerResponse): number {
    const object = this.store.get(kind, name);
    if (object === undefined) return sendStatus(res, 404, 'NotFound', `${kind} "${name}" not found`);
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(object));
    return 200;
  }

  #list(kind: FakeKind, url: URL, res: ServerResponse): number {
    const matches = selectorOf(url);
    if (matches === 'invalid') return sendStatus(res, 400, 'BadRequest', 'unable to parse labelSelector');
    const body = {
      apiVersion: GROUP[kind].replace(/^apis?\//, ''),
      kind: LIST_KIND[kind],
      metadata: { resourceVersion: String(this.store.resourceVersion) },
      items: this.store.list(kind).filter((o) => matches(o)),
    };
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    return 200;
  }

  #watch(kind: FakeKind, url: URL, res: ServerResponse): number {
    const matches = selectorOf(url);
    if (matches === 'invalid') return sendStatus(res, 400, 'BadRequest', 'unable to parse labelSelector');
    const from = Number(url.searchParams.get('resourceVersion') ?? '0');
    const replay = this.store.eventsSince(kind, from);
    if (replay === 'gone' && this.#goneAs === 'http') {
      sendStatus(res, 410, 'Expired', `too old resource version: ${from}`);
      return 410;
    }
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    if (replay === 'gone') {
      const status = statusBody(410, 'Expired', `too old resource version: ${from}`);
      res.end(`${JSON.stringify({ type: 'ERROR', object: status })}\n`);
      return 200;
    }
    res.flushHeaders();
    for (const event of replay.filter((e) => matches(e.object))) {
      res.write(`${JSON.stringify({ type: event.type, object: event.object })}\n`);
    }
    const unsubscribe = this.store.subscribe((eventKind, event) => {
      if (eventKind === kind && matches(event.object))
        res.write(`${JSON.stringify({ type: event.type, object: event.object })}\n`);
    });
    this.#watches.add(res);
    res.on('close', () => {
      unsubscribe();
      this.#watches.delete(res);
    });
    return 200;
  }
}
