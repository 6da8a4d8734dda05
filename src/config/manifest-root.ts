import { resolve } from 'node:path';
import { isValidFunctionName } from '../core/function-spec.js';
import { DNS_LABEL_RULE, FUNCTION_SHAPE, readFunction } from './manifest-function.js';
import { JOB_SHAPE, readJob } from './manifest-job.js';
import type { Manifest, ManifestFunction, ManifestJob, StateMode } from './manifest-types.js';
import {
  at,
  child,
  describe,
  present,
  readInteger,
  readMap,
  readString,
  warnAboutExtraKeys,
  type Issues,
  type ReadContext,
} from './tree-readers.js';
import type { MapNode, Shape, TreeNode } from './yaml-tree.js';

const ANY: Shape = { kind: 'any' };
const ROOT_FIELDS = [
  'schemaVersion',
  'name',
  'cluster',
  'processPorts',
  'state',
  'functions',
  'jobs',
] as const;
const ROOT_UNSUPPORTED = ['processes'] as const;
const CLUSTER_FIELDS = ['nodes', 'entrypointPort'] as const;
const CLUSTER_UNSUPPORTED = ['nodeHttpPortBase', 'raftPortBase', 'nodeLogLevel'] as const;
const PORT_RANGE_FIELDS = ['from', 'to'] as const;
const STATE_FIELDS = ['mode', 'directory'] as const;
const STATE_MODES: readonly StateMode[] = ['persistent', 'ephemeral'];

const struct = (keys: readonly string[], overrides: Record<string, Shape> = {}): Shape => ({
  kind: 'struct',
  fields: { ...Object.fromEntries(keys.map((key) => [key, ANY])), ...overrides },
});

/** Which keys are structural (matched case-insensitively) at every level of the manifest. */
export const MANIFEST_SHAPE: Shape = struct([...ROOT_FIELDS, ...ROOT_UNSUPPORTED], {
  cluster: struct([...CLUSTER_FIELDS, ...CLUSTER_UNSUPPORTED]),
  processPorts: struct(PORT_RANGE_FIELDS),
  state: struct(STATE_FIELDS),
  functions: { kind: 'mapOf', value: FUNCTION_SHAPE },
  jobs: { kind: 'mapOf', value: JOB_SHAPE },
});

export const TWO_NODE_WARNING =
  'a 2-node cluster stops when either node stops (NATS JetStream needs a majority); use 1 or 3';

export interface ManifestContext {
  readonly issues: Issues;
  /** Absolute directory of the first manifest file. */
  readonly manifestDirectory: string;
  /** `slimfaas up --port N`: replaces cluster.entrypointPort. */
  readonly portOverride: number | undefined;
}

/** Validates the merged manifest; every problem goes to `context.issues`. Undefined when any error. */
export function readManifest(root: MapNode, context: ManifestContext): Manifest | undefined {
  const base: ReadContext = { issues: context.issues, path: [] };
  const before = context.issues.errors.length;
  warnAboutExtraKeys(root, base, { known: ROOT_FIELDS, unsupported: ROOT_UNSUPPORTED });
  readSchemaVersion(root, base);
  const name = readName(root, base);
  const cluster = readCluster(root, context);
  const processPorts = readProcessPorts(root, base, cluster.entrypointPort);
  const state = readState(root, base, { name, manifestDirectory: context.manifestDirectory });
  const functions = readFunctions(root, base, context.manifestDirectory);
  const jobs = readJobs(root, base, context.manifestDirectory);
  if (context.issues.errors.length > before || name === undefined) return undefined;
  return {
    schemaVersion: 1,
    name,
    manifestDirectory: context.manifestDirectory,
    cluster,
    processPorts,
    state,
    functions,
    jobs,
  };
}

function readSchemaVersion(root: MapNode, context: ReadContext): void {
  const node = child(root, 'schemaVersion');
  if (!present(node) || (node.kind === 'scalar' && node.value === 1)) return;
  context.issues.error(
    ['schemaVersion'],
    `only schema version 1 is supported, got ${describe(node)}`,
    node.at,
  );
}

function readName(root: MapNode, context: ReadContext): string | undefined {
  const node = child(root, 'name');
  if (!present(node)) {
    context.issues.error(['name'], `required: the name of this SlimFaas instance (${DNS_LABEL_RULE})`);
    return undefined;
  }
  const name = readString(node, at(context, 'name'));
  if (name === undefined || isValidFunctionName(name)) return name;
  context.issues.error(['name'], `${DNS_LABEL_RULE}, got ${JSON.stringify(name)}`, node.at);
  return undefined;
}

function readCluster(root: MapNode, context: ManifestContext): Manifest['cluster'] {
  const base: ReadContext = { issues: context.issues, path: ['cluster'] };
  const map = readMap(child(root, 'cluster'), base);
  warnAboutExtraKeys(map, base, { known: CLUSTER_FIELDS, unsupported: CLUSTER_UNSUPPORTED });
  const nodesNode = child(map, 'nodes');
  const nodes = readInteger(nodesNode, at(base, 'nodes'), { min: 1, max: 3 }) ?? 1;
  if (nodes === 2) context.issues.warn(['cluster', 'nodes'], TWO_NODE_WARNING, nodesNode?.at);
  const written = readInteger(child(map, 'entrypointPort'), at(base, 'entrypointPort'), {
    min: 0,
    max: 65535,
  });
  return { nodes, entrypointPort: context.portOverride ?? written ?? 30020 };
}

function readProcessPorts(
  root: MapNode,
  context: ReadContext,
  entrypointPort: number,
): Manifest['processPorts'] {
  const base = at(context, 'processPorts');
  const node = child(root, 'processPorts');
  const map = readMap(node, base);
  warnAboutExtraKeys(map, base, { known: PORT_RANGE_FIELDS, unsupported: [] });
  const from = readInteger(child(map, 'from'), at(base, 'from'), { min: 1, max: 65535 });
  const to = readInteger(child(map, 'to'), at(base, 'to'), { min: 1, max: 65535 });
  const range = { from: from ?? 5000, to: to ?? 5999 };
  if (
    (from !== undefined || !present(child(map, 'from'))) &&
    (to !== undefined || !present(child(map, 'to')))
  ) {
    if (range.from > range.to) {
      context.issues.error(
        ['processPorts'],
        `"from" (${range.from}) must not be greater than "to" (${range.to})`,
        node?.at,
      );
    } else if (entrypointPort >= range.from && entrypointPort <= range.to) {
      context.issues.error(
        ['processPorts'],
        `${range.from}-${range.to} contains cluster.entrypointPort ${entrypointPort}; replicas would collide with the entrypoint`,
        node?.at,
      );
    }
  }
  return range;
}

function readState(
  root: MapNode,
  context: ReadContext,
  options: { name: string | undefined; manifestDirectory: string },
): Manifest['state'] {
  const base = at(context, 'state');
  const map = readMap(child(root, 'state'), base);
  warnAboutExtraKeys(map, base, { known: STATE_FIELDS, unsupported: [] });
  const modeNode = child(map, 'mode');
  const written = readString(modeNode, at(base, 'mode'));
  const mode = STATE_MODES.find((candidate) => candidate === written?.toLowerCase());
  if (written !== undefined && mode === undefined) {
    context.issues.error(
      ['state', 'mode'],
      `expected "persistent" or "ephemeral", got ${JSON.stringify(written)}`,
      modeNode?.at,
    );
  }
  const directoryNode = child(map, 'directory');
  const directory = readString(directoryNode, at(base, 'directory'));
  if (directory === '')
    context.issues.error(['state', 'directory'], 'expected a non-empty path', directoryNode?.at);
  return {
    mode: mode ?? 'persistent',
    directory: resolve(options.manifestDirectory, directory || `.slimfaas/${options.name ?? 'slimfaas'}`),
  };
}

function readFunctions(root: MapNode, context: ReadContext, manifestDirectory: string): ManifestFunction[] {
  const map = readMap(child(root, 'functions'), at(context, 'functions'));
  if (map === undefined) return [];
  const functions: ManifestFunction[] = [];
  for (const [name, node] of map.entries) {
    const fn = readFunction(name, node, { ...at(context, 'functions', name), manifestDirectory });
    if (fn !== undefined) functions.push(fn);
  }
  warnAboutUnknownDependencies(functions, { ...context, functionsNode: map });
  return functions;
}

function readJobs(root: MapNode, context: ReadContext, manifestDirectory: string): ManifestJob[] {
  const map = readMap(child(root, 'jobs'), at(context, 'jobs'));
  if (map === undefined) return [];
  const jobs: ManifestJob[] = [];
  for (const [name, node] of map.entries) {
    const job = readJob(name, node, { ...at(context, 'jobs', name), manifestDirectory });
    if (job === undefined) continue;
    if (jobs.some((other) => other.name === job.name)) {
      context.issues.error(['jobs', name], `defined twice (job names are case-insensitive)`, node.at);
    } else jobs.push(job);
  }
  return jobs;
}

/** SlimFaas counts a dependency that is not a function as ready: probably a typo, so say so. */
function warnAboutUnknownDependencies(
  functions: readonly ManifestFunction[],
  context: ReadContext & { readonly functionsNode: MapNode },
): void {
  for (const fn of functions) {
    const annotations = readMapQuietly(child(context.functionsNode, fn.name), 'annotations');
    for (const dependency of fn.spec.dependsOn) {
      if (context.functionsNode.entries.has(dependency)) continue;
      context.issues.warn(
        ['functions', fn.name, 'annotations', 'SlimFaas/DependsOn'],
        `${JSON.stringify(dependency)} is not a function of this manifest; it is treated as always ready`,
        child(annotations, 'SlimFaas/DependsOn')?.at,
      );
    }
  }
}

function readMapQuietly(node: TreeNode | undefined, key: string): MapNode | undefined {
  const value = node?.kind === 'map' ? child(node, key) : undefined;
  return value?.kind === 'map' ? value : undefined;
}
