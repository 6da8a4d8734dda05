import type { Server } from 'node:http';
import {
  podObject,
  readyPod,
  startPodServer,
  stopPodServer,
  type PodBehaviour,
  type PodRequest,
} from './fake-kube-pods.js';
import type { FakeKind, FakeKubeStore, KubeObject } from './fake-kube-store.js';

type WorkloadKind = 'deployments' | 'statefulsets';

/**
 * The controllers and kubelet of the fake cluster: Deployments and StatefulSets get as many pods as
 * `spec.replicas` (labels from the template, ownerReferences to a ReplicaSet or the StatefulSet),
 * each backed by a real HTTP server; pods turn Ready after a delay; deleted pods are replaced.
 * Jobs are stored only: no Job controller runs.
 */
export class FakeControllers {
  /** Every request the pods' servers received, oldest first. */
  readonly received: PodRequest[] = [];
  readonly #store: FakeKubeStore;
  readonly #namespace: string;
  readonly #defaults: PodBehaviour;
  readonly #behaviours = new Map<string, PodBehaviour>();
  readonly #servers = new Map<string, Server>();
  readonly #owners = new Map<string, string>();
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #running = new Map<string, Promise<void>>();
  readonly #dirty = new Set<string>();
  readonly #unsubscribe: () => void;
  #suffix = 0;
  #closed = false;

  constructor(store: FakeKubeStore, namespace: string, defaults: PodBehaviour) {
    this.#store = store;
    this.#namespace = namespace;
    this.#defaults = defaults;
    this.#unsubscribe = store.subscribe((kind, event) => this.#onEvent(kind, event.type, event.object));
  }

  /** Pod behaviour for one workload's future pods. */
  setBehaviour(workload: string, behaviour: PodBehaviour): void {
    this.#behaviours.set(workload, behaviour);
  }

  /** Resolves when no reconciliation is running. */
  async idle(): Promise<void> {
    while (this.#running.size > 0) await Promise.allSettled([...this.#running.values()]);
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#unsubscribe();
    for (const timer of this.#timers) clearTimeout(timer);
    await this.idle();
    await Promise.all([...this.#servers.values()].map(stopPodServer));
    this.#servers.clear();
  }

  #onEvent(kind: FakeKind, type: string, object: KubeObject): void {
    if (kind === 'deployments' || kind === 'statefulsets') {
      this.#schedule(`${kind}/${object.metadata.name}`);
      return;
    }
    if (kind !== 'pods' || type !== 'DELETED') return;
    const name = object.metadata.name;
    const server = this.#servers.get(name);
    this.#servers.delete(name);
    if (server !== undefined) void stopPodServer(server);
    const owner = this.#owners.get(name);
    this.#owners.delete(name);
    if (owner !== undefined) this.#schedule(owner);
  }

  #schedule(key: string): void {
    if (this.#closed) return;
    if (this.#running.has(key)) {
      this.#dirty.add(key);
      return;
    }
    const run = (async () => {
      do {
        this.#dirty.delete(key);
        await this.#reconcile(key);
      } while (this.#dirty.has(key) && !this.#closed);
    })().finally(() => this.#running.delete(key));
    this.#running.set(key, run);
  }

  async #reconcile(key: string): Promise<void> {
    const [kind, name] = key.split('/') as [WorkloadKind, string];
    const workload = this.#store.get(kind, name);
    const owned = [...this.#owners].filter(([, owner]) => owner === key).map(([pod]) => pod);
    const desired = workload === undefined ? 0 : Number(workload.spec?.['replicas'] ?? 1);
    // Newest first for Deployments (ReplicaSet picks recent pods), highest ordinal for StatefulSets.
    const surplus = owned
      .sort()
      .reverse()
      .slice(0, Math.max(0, owned.length - desired));
    for (const pod of surplus) this.#store.delete('pods', pod);
    for (
      let missing = desired - owned.length;
      missing > 0 && workload !== undefined && !this.#closed;
      missing--
    ) {
      await this.#createPod(key, kind, workload);
    }
  }

  async #createPod(key: string, kind: WorkloadKind, workload: KubeObject): Promise<void> {
    const name = workload.metadata.name;
    const behaviour = { ...this.#defaults, ...this.#behaviours.get(name) };
    const podName =
      kind === 'statefulsets'
        ? `${name}-${this.#freeOrdinal(key, name)}`
        : `${name}-7c9d8f5b6d-${(++this.#suffix).toString(36).padStart(5, '0')}`;
    this.#owners.set(podName, key);
    const started =
      behaviour.unschedulable === true
        ? undefined
        : await startPodServer(podName, (request) => this.received.push(request));
    if (this.#closed || this.#owners.get(podName) !== key) {
      if (started !== undefined) await stopPodServer(started.server);
      return;
    }
    if (started !== undefined) this.#servers.set(podName, started.server);
    const uid = workload.metadata.uid ?? '';
    const owner =
      kind === 'statefulsets'
        ? { kind: 'StatefulSet', name, uid }
        : { kind: 'ReplicaSet', name: `${name}-7c9d8f5b6d`, uid: `${uid}-rs` };
    const pod = this.#store.put(
      'pods',
      podObject({
        name: podName,
        namespace: this.#namespace,
        workload,
        owner,
        port: started?.port,
        unschedulable: behaviour.unschedulable === true,
      }),
    );
    if (behaviour.unschedulable === true || behaviour.neverReady === true) return;
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      const current = this.#store.get('pods', podName);
      if (current !== undefined && current.metadata.uid === pod.metadata.uid) {
        this.#store.put('pods', readyPod(current));
      }
    }, behaviour.readyDelayMs ?? 0);
    this.#timers.add(timer);
  }

  #freeOrdinal(key: string, name: string): number {
    for (let ordinal = 0; ; ordinal++) {
      if (this.#owners.get(`${name}-${ordinal}`) !== key) return ordinal;
    }
  }
}
