import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Orchestrator } from '../core/ports.js';
import type { StateStore } from '../core/state-store.js';
import type { FunctionState } from '../core/topology.js';

/** Route kinds used as a label: a bounded set, never raw paths. */
export const ROUTE_KINDS = ['function', 'async', 'event', 'status', 'wake', 'control', 'other'] as const;
export type RouteKind = (typeof ROUTE_KINDS)[number];
const STATUS_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'] as const;

type Observer = { observe(value: number): void };

/**
 * SlimFaas's Prometheus metrics. Queue and replica gauges are computed when scraped (from the
 * orchestrator snapshot and the store), so nothing runs between scrapes. Histogram children are bound
 * once per (route kind, status class), so observing on the hot path does no label hashing.
 */
export class SlimFaasMetrics {
  readonly registry = new Registry();
  readonly #requestObservers = new Map<string, Observer>();
  readonly #coldStarts: Histogram;

  constructor(deps: { orchestrator: Pick<Orchestrator, 'functions'>; store?: StateStore | undefined }) {
    const registry = this.registry;
    collectDefaultMetrics({ register: registry, prefix: 'slimfaas_' });
    const requests = new Histogram({
      name: 'slimfaas_http_request_duration_seconds',
      help: 'Duration of requests answered by SlimFaas, by route kind and status class.',
      labelNames: ['route_kind', 'status_class'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
      registers: [registry],
    });
    for (const kind of ROUTE_KINDS) {
      for (const cls of STATUS_CLASSES)
        this.#requestObservers.set(`${kind}${cls}`, requests.labels(kind, cls));
    }
    this.#coldStarts = new Histogram({
      name: 'slimfaas_cold_start_duration_seconds',
      help: 'Time a sync request waited for its function to wake.',
      labelNames: ['function'],
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
      registers: [registry],
    });
    const replicaGauge = (name: string, help: string, value: (fn: FunctionState) => number) =>
      new Gauge({
        name,
        help,
        labelNames: ['function'],
        registers: [registry],
        collect() {
          this.reset();
          for (const fn of deps.orchestrator.functions().values())
            this.set({ function: fn.spec.name }, value(fn));
        },
      });
    replicaGauge(
      'slimfaas_function_replicas_desired',
      'Replicas requested for the function.',
      (fn) => fn.requested,
    );
    replicaGauge(
      'slimfaas_function_replicas_ready',
      'Ready replicas of the function.',
      (fn) => fn.replicas.filter((r) => r.ready).length,
    );
    this.#queueGauges(deps, registry);
    new Counter({
      name: 'slimfaas_up',
      help: 'Always 1 while SlimFaas serves.',
      registers: [registry],
    }).inc();
  }

  /**
   * SlimFaas's queue gauges (same names as the original) plus dead letters, read from the store on
   * scrape: one `counts` call per function per scrape.
   */
  #queueGauges(
    deps: { orchestrator: Pick<Orchestrator, 'functions'>; store?: StateStore | undefined },
    registry: Registry,
  ): void {
    const store = deps.store;
    if (store === undefined) return;
    const load = async (): Promise<void> => {
      const rows = await Promise.all(
        [...deps.orchestrator.functions().keys()].map(async (name) => ({
          name,
          counts: await store.counts(name),
        })),
      );
      for (const g of Object.values(gauges)) g.reset();
      for (const { name, counts } of rows) {
        gauges.ready.set({ function: name }, counts.ready);
        gauges.inFlight.set({ function: name }, counts.inFlight);
        gauges.retryPending.set({ function: name }, counts.retryPending);
        gauges.dead.set({ function: name }, counts.dead);
      }
    };
    // prom-client collects every metric concurrently: all four gauges share one load per scrape.
    let pending: Promise<void> | undefined;
    const refresh = (): Promise<void> => {
      pending ??= load().finally(() => setImmediate(() => (pending = undefined)));
      return pending;
    };
    const gauge = (name: string, help: string) =>
      new Gauge({ name, help, labelNames: ['function'], registers: [registry], collect: refresh });
    const gauges = {
      ready: gauge('slimfaas_function_queue_ready_items', 'Async requests waiting to be sent.'),
      inFlight: gauge('slimfaas_function_queue_in_flight_items', 'Async requests being delivered.'),
      retryPending: gauge(
        'slimfaas_function_queue_retry_pending_items',
        'Async requests waiting for a retry.',
      ),
      dead: gauge(
        'slimfaas_function_queue_dead_letter_items',
        'Async requests that exhausted their attempts.',
      ),
    };
  }

  observeRequest(kind: RouteKind, status: number, seconds: number): void {
    const cls =
      status >= 500 ? '5xx' : status >= 400 ? '4xx' : status >= 300 ? '3xx' : status >= 200 ? '2xx' : '1xx';
    this.#requestObservers.get(`${kind}${cls}`)?.observe(seconds);
  }

  observeColdStart(functionName: string, seconds: number): void {
    this.#coldStarts.observe({ function: functionName }, seconds);
  }

  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
