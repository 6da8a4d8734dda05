import type { FunctionSpec } from '../core/function-spec.js';
import type { JobConfiguration } from '../core/job-spec.js';

export type StateMode = 'persistent' | 'ephemeral';

/** Readiness probe of a replica. Without `path`, a replica is ready once its port accepts a TCP connection. */
export interface HealthCheck {
  readonly path: string | undefined;
  readonly periodSeconds: number;
  readonly timeoutSeconds: number;
  /** A replica not ready after this long has failed to start. */
  readonly startupTimeoutSeconds: number;
}

/**
 * One `functions.<name>` entry. `command`, `environment` and `annotations` may still contain the
 * `{port}` and `{replica}` placeholders: the orchestrator expands them per replica (expandPlaceholders).
 */
export interface ManifestFunction {
  readonly name: string;
  /** argv, run without a shell. */
  readonly command: readonly string[];
  /** Absolute, and known to exist when the manifest was loaded. */
  readonly workingDirectory: string;
  readonly environment: Readonly<Record<string, string>>;
  /** The exact Kubernetes annotation keys, as written. */
  readonly annotations: Readonly<Record<string, string>>;
  readonly health: HealthCheck;
  /** `annotations` parsed by parseFunctionAnnotations. */
  readonly spec: FunctionSpec;
}

/** One `jobs.<name>` entry: what a run executes (its `Args` appended) and the job's configuration. */
export interface ManifestJob {
  /** Lower-case (job names are case-insensitive). */
  readonly name: string;
  readonly command: readonly string[];
  /** Absolute, and known to exist when the manifest was loaded. */
  readonly workingDirectory: string;
  readonly environment: Readonly<Record<string, string>>;
  readonly config: JobConfiguration;
}

/** A validated local manifest (SlimFaas's schemaVersion 1), deeply frozen, defaults applied. */
export interface Manifest {
  readonly schemaVersion: 1;
  readonly name: string;
  /** Absolute directory of the first manifest file; relative paths are resolved against it. */
  readonly manifestDirectory: string;
  readonly cluster: {
    /** SlimFaas nodes (1–3). Above 1, `up` runs a NATS JetStream cluster and a node process per node. */
    readonly nodes: number;
    /** The stable entrypoint; 0 means "any free port". `--port` overrides it. */
    readonly entrypointPort: number;
  };
  /** Inclusive pool of ports handed to replicas. */
  readonly processPorts: { readonly from: number; readonly to: number };
  /** `directory` is absolute. */
  readonly state: { readonly mode: StateMode; readonly directory: string };
  /** In manifest order. */
  readonly functions: readonly ManifestFunction[];
  /** In manifest order. */
  readonly jobs: readonly ManifestJob[];
}

export type ManifestResult =
  | { readonly ok: true; readonly manifest: Manifest; readonly warnings: readonly string[] }
  | { readonly ok: false; readonly errors: readonly string[]; readonly warnings: readonly string[] };
