import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseFunctionAnnotations } from '../core/annotations.js';
import { isValidFunctionName, type FunctionSpec } from '../core/function-spec.js';
import type { HealthCheck, ManifestFunction } from './manifest-types.js';
import {
  at,
  child,
  describe,
  present,
  readMap,
  readPositiveNumber,
  readString,
  readStringMap,
  warnAboutExtraKeys,
  Issues,
  type ReadContext,
} from './tree-readers.js';
import type { MapNode, Shape, TreeNode } from './yaml-tree.js';

const ANY: Shape = { kind: 'any' };
const HEALTH_FIELDS = ['path', 'periodSeconds', 'timeoutSeconds', 'startupTimeoutSeconds'] as const;
const FUNCTION_FIELDS = ['command', 'workingDirectory', 'environment', 'annotations', 'health'] as const;
const FUNCTION_UNSUPPORTED = ['debugUrl', 'shutdown'] as const;

export const FUNCTION_SHAPE: Shape = {
  kind: 'struct',
  fields: {
    ...Object.fromEntries([...FUNCTION_FIELDS, ...FUNCTION_UNSUPPORTED].map((key) => [key, ANY])),
    health: { kind: 'struct', fields: Object.fromEntries(HEALTH_FIELDS.map((key) => [key, ANY])) },
  },
};

export const DEFAULT_HEALTH: HealthCheck = {
  path: undefined,
  periodSeconds: 1,
  timeoutSeconds: 2,
  startupTimeoutSeconds: 120,
};

export const DNS_LABEL_RULE =
  'expected a DNS-1123 label: lowercase letters, digits and "-", starting and ending with a letter or digit, at most 63 characters';

export type UnparsedFunction = Omit<ManifestFunction, 'spec'>;

/**
 * Validates one `functions.<name>` entry (every problem goes to `context.issues`) and parses its
 * annotations into a FunctionSpec. Returns undefined when anything is wrong.
 */
export function readFunction(
  name: string,
  node: TreeNode,
  context: ReadContext & { readonly manifestDirectory: string },
): ManifestFunction | undefined {
  const nameOk = isValidFunctionName(name);
  if (!nameOk) context.issues.error(context.path, `invalid function name: ${DNS_LABEL_RULE}`, node.at);
  if (node.kind !== 'map') {
    context.issues.error(
      context.path,
      `expected a mapping with at least "command", got ${describe(node)}`,
      node.at,
    );
    return undefined;
  }
  const fields = readFunctionFields(name, node, context);
  // Annotations are checked even when other fields are wrong, so that every problem is listed at once.
  const annotations = fields?.annotations ?? readStringMap(child(node, 'annotations'), silent(context));
  if (annotations === undefined) return undefined;
  const annotationsNode = child(node, 'annotations');
  const spec = withSpec(name, annotations, {
    ...at(context, 'annotations'),
    annotationsNode: annotationsNode?.kind === 'map' ? annotationsNode : undefined,
  });
  if (!nameOk || fields === undefined || spec === undefined) return undefined;
  return { ...fields, spec };
}

/** A context whose problems are dropped (they were already reported by the first read). */
function silent(context: ReadContext): ReadContext {
  return { ...context, issues: new Issues() };
}

function readFunctionFields(
  name: string,
  map: MapNode,
  context: ReadContext & { readonly manifestDirectory: string },
): UnparsedFunction | undefined {
  warnAboutExtraKeys(map, context, { known: FUNCTION_FIELDS, unsupported: FUNCTION_UNSUPPORTED });
  const command = readCommand(child(map, 'command'), at(context, 'command'));
  const workingDirectory = readWorkingDirectory(map, context);
  const environment = readStringMap(child(map, 'environment'), at(context, 'environment'));
  const annotations = readStringMap(child(map, 'annotations'), at(context, 'annotations'));
  const health = readHealth(child(map, 'health'), at(context, 'health'));
  if (
    command === undefined ||
    workingDirectory === undefined ||
    environment === undefined ||
    annotations === undefined ||
    health === undefined
  ) {
    return undefined;
  }
  return { name, command, workingDirectory, environment, annotations, health };
}

/** argv as a non-empty list; scalars are coerced to their text (`--port, 8080`). No shell string. */
export function readCommand(node: TreeNode | undefined, context: ReadContext): string[] | undefined {
  if (!present(node)) {
    context.issues.error(context.path, 'required: the program and its arguments, as a list');
    return undefined;
  }
  if (node.kind !== 'seq' || node.items.length === 0) {
    const hint =
      node.kind === 'scalar' && typeof node.value === 'string' ? ' (no shell is used: split it)' : '';
    context.issues.error(
      context.path,
      `expected a non-empty list of strings${hint}, got ${describe(node)}`,
      node.at,
    );
    return undefined;
  }
  const argv: string[] = [];
  node.items.forEach((item, index) => {
    if (item.kind === 'scalar' && item.value !== null && (index > 0 || item.text !== ''))
      argv.push(item.text);
    else
      context.issues.error(
        [...context.path, index],
        `expected a non-empty string, got ${describe(item)}`,
        item.at,
      );
  });
  return argv.length === node.items.length ? argv : undefined;
}

export function readWorkingDirectory(
  map: MapNode,
  context: ReadContext & { readonly manifestDirectory: string },
): string | undefined {
  const node = child(map, 'workingDirectory');
  const written = readString(node, at(context, 'workingDirectory'));
  if (written === undefined && present(node)) return undefined;
  const directory = resolve(context.manifestDirectory, written ?? '.');
  if (!isDirectory(directory)) {
    context.issues.error(
      [...context.path, 'workingDirectory'],
      `directory ${JSON.stringify(directory)} does not exist`,
      node?.at,
    );
    return undefined;
  }
  return directory;
}

function isDirectory(path: string): boolean {
  return statSync(path, { throwIfNoEntry: false })?.isDirectory() ?? false;
}

function readHealth(node: TreeNode | undefined, context: ReadContext): HealthCheck | undefined {
  const map = readMap(node, context);
  if (map === undefined) return present(node) ? undefined : DEFAULT_HEALTH;
  warnAboutExtraKeys(map, context, { known: HEALTH_FIELDS, unsupported: [] });
  const pathNode = child(map, 'path');
  const path = readString(pathNode, at(context, 'path'));
  let ok = path !== undefined || !present(pathNode);
  if (path !== undefined && !path.startsWith('/')) {
    context.issues.error(
      [...context.path, 'path'],
      `expected a path starting with "/", got ${JSON.stringify(path)}`,
      pathNode?.at,
    );
    ok = false;
  }
  const seconds = (key: 'periodSeconds' | 'timeoutSeconds' | 'startupTimeoutSeconds'): number => {
    const value = readPositiveNumber(child(map, key), at(context, key));
    if (value === undefined && present(child(map, key))) ok = false;
    return value ?? DEFAULT_HEALTH[key];
  };
  const health: HealthCheck = {
    path,
    periodSeconds: seconds('periodSeconds'),
    timeoutSeconds: seconds('timeoutSeconds'),
    startupTimeoutSeconds: seconds('startupTimeoutSeconds'),
  };
  return ok ? health : undefined;
}

/** Parses the annotations; their problems and warnings are reported under the annotation's path. */
function withSpec(
  name: string,
  annotations: Readonly<Record<string, string>>,
  context: ReadContext & { readonly annotationsNode: MapNode | undefined },
): FunctionSpec | undefined {
  const result = parseFunctionAnnotations(name, annotations);
  const where = (key: string) => child(context.annotationsNode, key)?.at ?? context.annotationsNode?.at;
  if (!result.ok) {
    for (const problem of result.problems) {
      if (problem.key === 'name') continue; // already reported as functions.<name>
      const written = Object.hasOwn(annotations, problem.key);
      const message = written ? withValue(problem.message, problem.value) : problem.message;
      context.issues.error([...context.path, problem.key], message, where(problem.key));
    }
    return undefined;
  }
  for (const warning of result.warnings) {
    context.issues.warn([...context.path, warning.key], warning.message, where(warning.key));
  }
  return result.spec;
}

/** The parser names the value separately and sometimes in the message too; say it once. */
function withValue(message: string, value: string): string {
  const quoted = JSON.stringify(value);
  return /\bgot\b/.test(message) || message.includes(quoted) ? message : `${message}, got ${quoted}`;
}
