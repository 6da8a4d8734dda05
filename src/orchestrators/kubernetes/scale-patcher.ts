import type { Logger } from '../../core/ports.js';
import type { PodType } from '../../core/topology.js';
import { toSlimFaasError } from './kube-errors.js';
import type { Backoff } from './resource-watch.js';

/** Sends one merge-patch to `…/{deployments|statefulsets}/{name}/scale`. */
export type PatchScale = (target: { name: string; podType: PodType; replicas: number }) => Promise<void>;

export interface ScalePatcherOptions {
  readonly patch: PatchScale;
  readonly logger: Logger;
  readonly backoff?: Backoff;
  /** Called when `name` has no count left to apply (applied, or its workload is gone). */
  readonly onSettled?: (name: string) => void;
}

/**
 * Applies desired replica counts in the background, one patch in flight per function; the latest
 * request wins (a count superseded while a patch is in flight is not sent again). A failed patch is
 * logged once per failure streak and retried with back-off until it succeeds, is superseded, the
 * workload is gone (404), or the patcher is closed.
 */
export class ScalePatcher {
  readonly #options: ScalePatcherOptions;
  readonly #backoff: Backoff;
  readonly #pending = new Map<string, { podType: PodType; replicas: number }>();
  readonly #running = new Map<string, Promise<void>>();
  readonly #wakers = new Set<() => void>();
  #closed = false;

  constructor(options: ScalePatcherOptions) {
    this.#options = options;
    this.#backoff = options.backoff ?? { initialMs: 200, maxMs: 10_000 };
  }

  /** True while a count for `name` has not been applied yet. */
  isPending(name: string): boolean {
    return this.#pending.has(name);
  }

  request(name: string, podType: PodType, replicas: number): void {
    if (this.#closed) return;
    this.#pending.set(name, { podType, replicas });
    if (!this.#running.has(name)) {
      const run = this.#drain(name).finally(() => this.#running.delete(name));
      this.#running.set(name, run);
    }
  }

  /** Stops retrying; waits for patches in flight. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const wake of this.#wakers) wake();
    await Promise.allSettled([...this.#running.values()]);
  }

  async #drain(name: string): Promise<void> {
    const logger = this.#options.logger;
    let failures = 0;
    for (
      let next = this.#pending.get(name);
      next !== undefined && !this.#closed;
      next = this.#pending.get(name)
    ) {
      try {
        await this.#options.patch({ name, ...next });
        if (this.#pending.get(name) === next) this.#pending.delete(name);
        if (failures > 0)
          logger.info({ function: name, replicas: next.replicas, failures }, 'scale patch succeeded');
        failures = 0;
      } catch (cause) {
        const error = toSlimFaasError(cause, `scaling ${name} to ${next.replicas}`);
        if (error.code === 'function_not_found') {
          logger.warn({ function: name, err: error.message }, 'scale patch: workload not found; giving up');
          if (this.#pending.get(name) === next) this.#pending.delete(name);
          continue;
        }
        failures++;
        const fields = { function: name, replicas: next.replicas, failures, err: error.message };
        if (failures === 1) logger.warn(fields, 'scale patch failed; retrying with back-off');
        else logger.debug(fields, 'scale patch failed again');
        await this.#sleep(
          Math.min(this.#backoff.maxMs, this.#backoff.initialMs * 2 ** Math.min(failures - 1, 20)),
        );
      }
    }
    if (this.#closed) this.#pending.delete(name);
    else this.#options.onSettled?.(name);
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        this.#wakers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.#wakers.add(wake);
    });
  }
}
