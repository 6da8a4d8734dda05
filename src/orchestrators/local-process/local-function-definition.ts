import { expandPlaceholders } from '../../core/placeholders.js';
import type { FunctionSpec } from '../../core/function-spec.js';

/** How a local replica's readiness is probed (the manifest's `health:` section, reference §6). */
export interface LocalHealthCheck {
  /** `GET http://127.0.0.1:<port><path>` must answer 2xx; without a path, a TCP connect suffices. */
  readonly path: string | undefined;
  /** Probe interval once the replica has been ready. */
  readonly periodSeconds: number;
  /** Per-probe timeout. */
  readonly timeoutSeconds: number;
  /** A replica not ready this long after spawning is killed (`StartupTimeout`) and replaced. */
  readonly startupTimeoutSeconds: number;
}

/** One function of a local manifest: what to run for each replica. */
export interface LocalFunctionDefinition {
  readonly spec: FunctionSpec;
  /** argv, no shell; `{port}` and `{replica}` are expanded in every element. */
  readonly command: readonly string[];
  readonly workingDirectory: string;
  /** Added to the replica's environment; `{port}` and `{replica}` are expanded in values. */
  readonly environment: Readonly<Record<string, string>>;
  readonly health: LocalHealthCheck;
}

export { expandPlaceholders } from '../../core/placeholders.js';

/** process.env + the orchestrator's + the function's variables (placeholders expanded) + the port variables. */
export function replicaEnvironment(options: {
  definition: LocalFunctionDefinition;
  extra: Readonly<Record<string, string>>;
  port: number;
  index: number;
}): NodeJS.ProcessEnv {
  const { definition, extra, port, index } = options;
  // Replicas inherit SlimFaas's environment, as the processes of `slimfaas local up` do (reference §6).
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const [key, value] of [...Object.entries(extra), ...Object.entries(definition.environment)]) {
    env[key] = expandPlaceholders(value, { port, replica: index });
  }
  env.PORT = String(port);
  env.SLIMFAAS_PORT = String(port);
  env.SLIMFAAS_REPLICA_INDEX = String(index);
  return env;
}
