import type { KubernetesObject, Watch } from '@kubernetes/client-node';
import type { Logger } from '../../core/ports.js';
import { describeKubeError, httpStatusOf } from './kube-errors.js';

/** The part of a `…List` response a watch needs. */
export interface ResourceList<T> {
  readonly items: T[];
  readonly metadata?: { readonly resourceVersion?: string | undefined } | undefined;
}

export interface Backoff {
  readonly initialMs: number;
  readonly maxMs: number;
}

export interface ResourceWatchOptions<T> {
  /** For log lines: `deployments`, `statefulsets`, `pods`. */
  readonly resource: string;
  /** The collection's path, e.g. `/apis/apps/v1/namespaces/default/deployments`. */
  readonly path: string;
  /** Restricts the watch to matching objects (the `list` must use the same selector). */
  readonly labelSelector?: string;
  readonly list: () => Promise<ResourceList<T>>;
  readonly watch: Watch;
  readonly logger: Logger;
  /** Called synchronously after the cache changed (after a list, or after each watch event). */
  readonly onChange: () => void;
  readonly backoff?: Backoff;
}

type WatchOutcome = { kind: 'gone' } | { kind: 'closed' } | { kind: 'error'; error: unknown };

/** A watch that closes this soon without any event counts as a failure, so a flapping server gets back-off. */
const SHORT_WATCH_MS = 1000;

/**
 * A cache of one namespaced collection kept current by list + watch (the informer pattern):
 * - list, then watch from the list's resourceVersion; every event updates the cache;
 * - a watch closed by the server (timeout, dropped connection) resumes from the last resourceVersion
 *   seen (events and BOOKMARKs), so no change is missed;
 * - `410 Gone` (HTTP status or an ERROR event carrying a Status with code 410) means that version is
 *   compacted away: relist;
 * - any other failure: keep the cache (the previous snapshot stays valid), log once per failure
 *   streak, back off (doubling up to `maxMs`), then retry.
 */
export class ResourceWatch<T extends KubernetesObject> {
  readonly #options: ResourceWatchOptions<T>;
  readonly #backoff: Backoff;
  #items = new Map<string, T>();
  #resourceVersion: string | undefined;
  #synced: Promise<void>;
  #resolveSynced: () => void = () => undefined;
  #closed = false;
  #controller: AbortController | undefined;
  #wake: (() => void) | undefined;
  #loop: Promise<void> | undefined;

  constructor(options: ResourceWatchOptions<T>) {
    this.#options = options;
    this.#backoff = options.backoff ?? { initialMs: 200, maxMs: 10_000 };
    this.#synced = new Promise((resolve) => (this.#resolveSynced = resolve));
  }

  /** The cached objects by name. */
  items(): ReadonlyMap<string, T> {
    return this.#items;
  }

  /** Resolves after the first successful list. */
  synced(): Promise<void> {
    return this.#synced;
  }

  start(): void {
    this.#loop ??= this.#run();
  }

  /** Stops watching (aborts the open request). Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#controller?.abort();
    this.#wake?.();
    await this.#loop;
  }

  async #run(): Promise<void> {
    const { logger, resource } = this.#options;
    let failures = 0;
    while (!this.#closed) {
      try {
        if (this.#resourceVersion === undefined) await this.#list();
        const outcome = await this.#watchOnce();
        if (this.#closed) break;
        if (outcome.kind === 'error') throw outcome.error;
        if (outcome.kind === 'gone') {
          logger.info({ resource }, 'watch resourceVersion expired (410 Gone): relisting');
          this.#resourceVersion = undefined;
        }
        if (failures > 0) logger.info({ resource, failures }, 'watch resumed');
        failures = 0;
      } catch (error) {
        if (this.#closed) break;
        failures++;
        const fields = { resource, failures, err: describeKubeError(error) };
        if (failures === 1) logger.warn(fields, 'list/watch failed; retrying with back-off');
        else logger.debug(fields, 'list/watch failed again');
        await this.#sleep(this.#delay(failures));
      }
    }
  }

  #delay(failures: number): number {
    return Math.min(this.#backoff.maxMs, this.#backoff.initialMs * 2 ** Math.min(failures - 1, 20));
  }

  async #list(): Promise<void> {
    const list = await this.#options.list();
    if (this.#closed) return;
    const items = new Map<string, T>();
    for (const item of list.items) items.set(item.metadata?.name ?? '', item);
    this.#items = items;
    this.#resourceVersion = list.metadata?.resourceVersion ?? '';
    this.#options.onChange();
    this.#resolveSynced();
  }

  #watchOnce(): Promise<WatchOutcome> {
    return new Promise<WatchOutcome>((resolve) => {
      const startedAt = Date.now();
      let events = 0;
      let gone = false;
      let errorEvent: unknown;
      const onEvent = (type: string, object: unknown): void => {
        if (this.#closed) return;
        if (type === 'ERROR') {
          const status = object as { code?: number; message?: string } | undefined;
          if (status?.code === 410) gone = true;
          else errorEvent = new Error(`watch ERROR event: ${status?.code} ${status?.message}`);
          this.#controller?.abort();
          return;
        }
        events++;
        this.#apply(type, object as T);
      };
      const onDone = (error: unknown): void => {
        if (gone || httpStatusOf(error) === 410) resolve({ kind: 'gone' });
        else if (errorEvent !== undefined) resolve({ kind: 'error', error: errorEvent });
        else if (error !== null && error !== undefined && !this.#closed) resolve({ kind: 'error', error });
        else if (events === 0 && Date.now() - startedAt < SHORT_WATCH_MS) {
          resolve({ kind: 'error', error: new Error('watch closed at once without any event') });
        } else resolve({ kind: 'closed' });
      };
      const query = {
        resourceVersion: this.#resourceVersion,
        allowWatchBookmarks: true,
        labelSelector: this.#options.labelSelector,
      };
      this.#options.watch.watch(this.#options.path, query, onEvent, onDone).then(
        (controller) => {
          this.#controller = controller;
          if (this.#closed) controller.abort();
        },
        (error: unknown) => resolve({ kind: 'error', error }),
      );
    });
  }

  #apply(type: string, object: T): void {
    const version = object.metadata?.resourceVersion;
    if (version !== undefined) this.#resourceVersion = version;
    if (type === 'BOOKMARK') return;
    const name = object.metadata?.name ?? '';
    if (type === 'DELETED') {
      if (!this.#items.has(name)) return;
      this.#items = new Map(this.#items);
      this.#items.delete(name);
    } else if (type === 'ADDED' || type === 'MODIFIED') {
      this.#items = new Map(this.#items).set(name, object);
    } else return;
    this.#options.onChange();
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.#wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}
