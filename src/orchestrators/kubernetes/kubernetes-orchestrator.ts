import { checkScaleRequest } from '../../core/scale-request.js';
import {
  AppsV1Api,
  CoreV1Api,
  PatchStrategy,
  Watch,
  setHeaderOptions,
  type KubeConfig,
  type V1Deployment,
  type V1Pod,
  type V1StatefulSet,
} from '@kubernetes/client-node';
import { SlimFaasError } from '../../core/errors.js';
import type { Logger, Orchestrator, TopologyEvent } from '../../core/ports.js';
import type { FunctionState, PodType } from '../../core/topology.js';
import { buildTopology, newlyReady, sameState, type Topology } from './function-topology.js';
import { ResourceWatch, type Backoff } from './resource-watch.js';
import { ScalePatcher } from './scale-patcher.js';
import {
  describeProblems,
  workloadToFunction,
  type Workload,
  type WorkloadFunction,
} from './workload-mapping.js';

export interface KubernetesOrchestratorOptions {
  /** In-cluster config in `slimfaas serve`, or a kubeconfig file when `KUBECONFIG` is set. */
  readonly kubeConfig: KubeConfig;
  /** The namespace whose Deployments and StatefulSets are functions (SlimFaas's own). */
  readonly namespace: string;
  /** `BASE_FUNCTION_URL`: each replica's origin, e.g. `http://{pod_ip}:{pod_port}`. */
  readonly functionUrlTemplate: string;
  /** `BASE_FUNCTION_POD_URL`: where events for each pod go. Default: `functionUrlTemplate`. */
  readonly podUrlTemplate?: string | undefined;
  readonly logger: Logger;
  /** Back-off of list/watch retries. Default 200 ms doubling to 10 s. */
  readonly watchBackoff?: Backoff;
  /** Back-off of failed scale patches. Default 200 ms doubling to 10 s. */
  readonly patchBackoff?: Backoff;
  /** `start()` rejects with `orchestrator_unavailable` when the first list takes longer. Default 30 s. */
  readonly initialSyncTimeoutMs?: number;
}

/**
 * Functions are the Deployments and StatefulSets of one namespace whose pod template carries
 * `SlimFaas/Function: "true"` (reference §2); replicas are the pods their selector matches.
 *
 * Beyond the `Orchestrator` contract:
 * - `start()` resolves once Deployments, StatefulSets and Pods are listed; they are then kept current
 *   by watches (list + watch, relist on 410 Gone, reconnect with back-off), never by polling;
 * - replica ids are pod names; origins come from `functionUrlTemplate`; a pod turning Ready is
 *   announced with `replica-ready` in the same call stack as the watch event;
 * - `setReplicas` records the count at once and merge-patches the workload's `scale` subresource in
 *   the background (retried with back-off, logged once per failure streak);
 * - a pod with `PodScheduled=False` is an `unschedulable` replica;
 * - a workload with an invalid annotation is skipped with one warning naming function, key, value;
 * - `close()` only stops watching: the workloads keep their replicas.
 */
export class KubernetesOrchestrator implements Orchestrator {
  readonly #options: KubernetesOrchestratorOptions;
  readonly #logger: Logger;
  readonly #apps: AppsV1Api;
  readonly #deployments: ResourceWatch<V1Deployment>;
  readonly #statefulSets: ResourceWatch<V1StatefulSet>;
  readonly #pods: ResourceWatch<V1Pod>;
  readonly #patcher: ScalePatcher;
  readonly #listeners = new Set<(event: TopologyEvent) => void>();
  readonly #overrides = new Map<string, number>();
  readonly #parsed = new WeakMap<Workload, WorkloadFunction>();
  readonly #reported = new Map<string, string>();
  #snapshot: ReadonlyMap<string, FunctionState> = new Map();
  #synced = false;
  #starting: Promise<void> | undefined;
  #closing: Promise<void> | undefined;

  constructor(options: KubernetesOrchestratorOptions) {
    this.#options = options;
    this.#logger = options.logger.child({ component: 'kubernetes-orchestrator' });
    const { kubeConfig, namespace } = options;
    this.#apps = kubeConfig.makeApiClient(AppsV1Api);
    const core = kubeConfig.makeApiClient(CoreV1Api);
    const common = {
      watch: new Watch(kubeConfig),
      logger: this.#logger,
      onChange: () => this.#refresh(),
      ...(options.watchBackoff === undefined ? {} : { backoff: options.watchBackoff }),
    };
    this.#deployments = new ResourceWatch<V1Deployment>({
      ...common,
      resource: 'deployments',
      path: `/apis/apps/v1/namespaces/${namespace}/deployments`,
      list: () => this.#apps.listNamespacedDeployment({ namespace }),
    });
    this.#statefulSets = new ResourceWatch<V1StatefulSet>({
      ...common,
      resource: 'statefulsets',
      path: `/apis/apps/v1/namespaces/${namespace}/statefulsets`,
      list: () => this.#apps.listNamespacedStatefulSet({ namespace }),
    });
    this.#pods = new ResourceWatch<V1Pod>({
      ...common,
      resource: 'pods',
      path: `/api/v1/namespaces/${namespace}/pods`,
      list: () => core.listNamespacedPod({ namespace }),
    });
    this.#patcher = new ScalePatcher({
      patch: (target) => this.#patchScale(target),
      logger: this.#logger,
      onSettled: () => this.#refresh(),
      ...(options.patchBackoff === undefined ? {} : { backoff: options.patchBackoff }),
    });
  }

  /** Lists and starts watching; resolves when the first snapshot is complete. Idempotent. */
  start(): Promise<void> {
    this.#starting ??= this.#start();
    return this.#starting;
  }

  /** Stops watching and retrying patches; the workloads are left as they are. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  functions(): ReadonlyMap<string, FunctionState> {
    return this.#snapshot;
  }

  setReplicas(name: string, replicas: number): Promise<void> {
    const checked = checkScaleRequest(this.#snapshot.get(name), {
      name,
      replicas,
      closed: this.#closing !== undefined,
    });
    if (!checked.ok) return Promise.reject(checked.error);
    const state = checked.target;
    if (state.requested === replicas) return Promise.resolve();
    this.#overrides.set(name, replicas);
    this.#patcher.request(name, state.podType, replicas);
    this.#refresh();
    return Promise.resolve();
  }

  subscribe(listener: (event: TopologyEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async #start(): Promise<void> {
    const watches = [this.#deployments, this.#statefulSets, this.#pods];
    for (const watch of watches) watch.start();
    const timeoutMs = this.#options.initialSyncTimeoutMs ?? 30_000;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>(
      (resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)),
    );
    const result = await Promise.race([Promise.all(watches.map((w) => w.synced())), timedOut]);
    clearTimeout(timer);
    if (result === 'timeout') {
      throw new SlimFaasError(
        'orchestrator_unavailable',
        `could not list deployments, statefulsets and pods of namespace ${this.#options.namespace} within ${timeoutMs} ms`,
      );
    }
    this.#synced = true;
    this.#refresh();
  }

  async #close(): Promise<void> {
    await Promise.allSettled([this.#deployments.close(), this.#statefulSets.close(), this.#pods.close()]);
    await this.#patcher.close();
  }

  async #patchScale(target: { name: string; podType: PodType; replicas: number }): Promise<void> {
    const request = {
      name: target.name,
      namespace: this.#options.namespace,
      body: { spec: { replicas: target.replicas } },
    };
    const options = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
    if (target.podType === 'StatefulSet') await this.#apps.patchNamespacedStatefulSetScale(request, options);
    else await this.#apps.patchNamespacedDeploymentScale(request, options);
  }

  #read(workload: Workload, podType: PodType): WorkloadFunction {
    let read = this.#parsed.get(workload);
    if (read === undefined) {
      read = workloadToFunction(workload, podType);
      this.#parsed.set(workload, read);
    }
    return read;
  }

  /** Rebuilds the snapshot from the caches; emits events only for what changed. */
  #refresh(): void {
    if (!this.#synced || this.#closing !== undefined) return;
    const topology = buildTopology({
      deployments: this.#deployments.items(),
      statefulSets: this.#statefulSets.items(),
      pods: this.#pods.items(),
      namespace: this.#options.namespace,
      urlTemplate: this.#options.functionUrlTemplate,
      podUrlTemplate: this.#options.podUrlTemplate,
      requestedOverrides: this.#overrides,
      read: (workload, podType) => this.#read(workload, podType),
    });
    this.#reportProblems(topology);
    for (const [name, wanted] of this.#overrides) {
      const observed = topology.observedReplicas.get(name);
      const settled = observed === wanted && !this.#patcher.isPending(name);
      if (observed === undefined || settled) this.#overrides.delete(name);
    }
    const events: TopologyEvent[] = [];
    const snapshot = new Map<string, FunctionState>();
    for (const [name, next] of topology.states) {
      const previous = this.#snapshot.get(name);
      if (previous !== undefined && sameState(previous, next)) {
        snapshot.set(name, previous);
        continue;
      }
      snapshot.set(name, next);
      events.push({ kind: 'function-changed', name });
      for (const replicaId of newlyReady(previous, next))
        events.push({ kind: 'replica-ready', name, replicaId });
    }
    for (const name of this.#snapshot.keys()) {
      if (!snapshot.has(name)) events.push({ kind: 'function-removed', name });
    }
    if (events.length === 0) return;
    this.#snapshot = snapshot;
    for (const event of events) this.#emit(event);
  }

  #reportProblems(topology: Topology): void {
    for (const [name, problems] of topology.invalid) {
      const line = describeProblems(name, problems);
      if (this.#reported.get(name) === line) continue;
      this.#reported.set(name, line);
      this.#logger.warn({ function: name, problems }, line);
    }
    const duplicates = new Set(topology.duplicates);
    for (const key of this.#reported.keys()) {
      const [kind, name] = key.startsWith('duplicate:') ? ['duplicate', key.slice(10)] : ['invalid', key];
      if (kind === 'invalid' ? !topology.invalid.has(name) : !duplicates.has(name))
        this.#reported.delete(key);
    }
    for (const name of duplicates) {
      const line = `function ${name} is both a Deployment and a StatefulSet; the StatefulSet is ignored`;
      if (this.#reported.get(`duplicate:${name}`) === line) continue;
      this.#reported.set(`duplicate:${name}`, line);
      this.#logger.warn({ function: name }, line);
    }
  }

  #emit(event: TopologyEvent): void {
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch (error) {
        this.#logger.error({ err: error, event }, 'topology listener threw');
      }
    }
  }
}
