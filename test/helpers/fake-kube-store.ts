/** The collections the fake API serves (all namespaced). */
export type FakeKind = 'deployments' | 'statefulsets' | 'pods' | 'jobs';
export type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

/** A Kubernetes object as JSON; the fake only relies on `metadata`. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: { apiVersion: string; kind: string; name: string; uid: string; controller?: boolean }[];
    deletionTimestamp?: string;
    generation?: number;
    creationTimestamp?: string;
  };
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
}

export interface StoredEvent {
  readonly resourceVersion: number;
  readonly type: EventType;
  readonly object: KubeObject;
}

type Listener = (kind: FakeKind, event: StoredEvent) => void;

/**
 * The fake API server's etcd: objects per collection, one global resourceVersion counter (as in
 * Kubernetes, versions are comparable only for equality by clients, but the fake compares them to
 * replay history), and an event log so a watch from version N replays every event after N.
 * `compact()` forgets history: a watch from an older version than the current one then gets 410 Gone.
 */
export class FakeKubeStore {
  readonly #objects = new Map<FakeKind, Map<string, KubeObject>>([
    ['deployments', new Map()],
    ['statefulsets', new Map()],
    ['pods', new Map()],
    ['jobs', new Map()],
  ]);
  readonly #log: { kind: FakeKind; event: StoredEvent }[] = [];
  readonly #listeners = new Set<Listener>();
  #resourceVersion = 1000;
  /** The version history was compacted at: a watch from an older version gets 410; from this one it is fine. */
  #compactedAt = 0;
  #uid = 0;

  get resourceVersion(): number {
    return this.#resourceVersion;
  }

  get(kind: FakeKind, name: string): KubeObject | undefined {
    return this.#objects.get(kind)?.get(name);
  }

  list(kind: FakeKind): KubeObject[] {
    return [...(this.#objects.get(kind)?.values() ?? [])];
  }

  /** Creates or replaces an object; stamps uid, resourceVersion, creationTimestamp; records the event. */
  put(kind: FakeKind, object: KubeObject): KubeObject {
    const collection = this.#objects.get(kind);
    if (collection === undefined) throw new Error(`unknown kind ${kind}`);
    const previous = collection.get(object.metadata.name);
    this.#resourceVersion++;
    const stored: KubeObject = structuredClone({
      ...object,
      metadata: {
        ...object.metadata,
        uid: previous?.metadata.uid ?? object.metadata.uid ?? `uid-${++this.#uid}`,
        creationTimestamp: previous?.metadata.creationTimestamp ?? new Date().toISOString(),
        resourceVersion: String(this.#resourceVersion),
      },
    });
    collection.set(stored.metadata.name, stored);
    this.#record(kind, previous === undefined ? 'ADDED' : 'MODIFIED', stored);
    return stored;
  }

  delete(kind: FakeKind, name: string): KubeObject | undefined {
    const collection = this.#objects.get(kind);
    const previous = collection?.get(name);
    if (collection === undefined || previous === undefined) return undefined;
    collection.delete(name);
    this.#resourceVersion++;
    const stored = structuredClone({
      ...previous,
      metadata: { ...previous.metadata, resourceVersion: String(this.#resourceVersion) },
    });
    this.#record(kind, 'DELETED', stored);
    return stored;
  }

  /** Events of `kind` after `resourceVersion`, or 'gone' when that version was compacted away. */
  eventsSince(kind: FakeKind, resourceVersion: number): StoredEvent[] | 'gone' {
    if (resourceVersion < this.#compactedAt) return 'gone';
    return this.#log
      .filter((e) => e.kind === kind && e.event.resourceVersion > resourceVersion)
      .map((e) => e.event);
  }

  /** Forgets every event so far: watches from any version older than the current one get 410 Gone. */
  compact(): void {
    this.#compactedAt = this.#resourceVersion;
    this.#log.length = 0;
  }

  subscribe(listener: Listener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #record(kind: FakeKind, type: EventType, object: KubeObject): void {
    const event = { resourceVersion: this.#resourceVersion, type, object };
    this.#log.push({ kind, event });
    for (const listener of this.#listeners) listener(kind, event);
  }
}
