import type { MapNode, SourceLocation, TreeNode } from './yaml-tree.js';

export type PathSegment = string | number;

/** `functions.fib.annotations["SlimFaas/ReplicasMin"]`, `functions.fib.command[0]`. */
export function formatPath(segments: readonly PathSegment[]): string {
  let out = '';
  for (const segment of segments) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (/^[A-Za-z_][\w-]*$/.test(segment)) out += out === '' ? segment : `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out;
}

/** Collects every problem, each prefixed with its path and suffixed with where it was written. */
export class Issues {
  readonly errors: string[] = [];
  readonly warnings: string[] = [];

  error(path: readonly PathSegment[], message: string, at?: SourceLocation): void {
    this.errors.push(Issues.#format(path, message, at));
  }

  warn(path: readonly PathSegment[], message: string, at?: SourceLocation): void {
    this.warnings.push(Issues.#format(path, message, at));
  }

  /** A warning about the key itself: `functions.fib.debugUrl is not supported yet and is ignored`. */
  warnKey(path: readonly PathSegment[], sentence: string, at?: SourceLocation): void {
    this.warnings.push(Issues.#format(path, sentence, at, ' '));
  }

  static #format(
    path: readonly PathSegment[],
    message: string,
    at: SourceLocation | undefined,
    separator = ': ',
  ): string {
    const where = at === undefined ? '' : ` (${at.file}:${at.line})`;
    return `${formatPath(path)}${separator}${message}${where}`;
  }
}

/** The context every reader needs: where to report, and the path of the node being read. */
export interface ReadContext {
  readonly issues: Issues;
  readonly path: readonly PathSegment[];
}

export function at(context: ReadContext, ...segments: PathSegment[]): ReadContext {
  return { issues: context.issues, path: [...context.path, ...segments] };
}

/** A missing key and an explicit `null` both mean "use the default". */
export function present(node: TreeNode | undefined): node is TreeNode {
  return node !== undefined && !(node.kind === 'scalar' && node.value === null);
}

export function describe(node: TreeNode): string {
  if (node.kind === 'map') return node.entries.size === 0 ? 'an empty mapping' : 'a mapping';
  if (node.kind === 'seq') return node.items.length === 0 ? 'an empty list' : 'a list';
  if (node.value === null) return 'null';
  return typeof node.value === 'string' ? JSON.stringify(node.value) : node.text;
}

export function child(node: MapNode | undefined, key: string): TreeNode | undefined {
  return node?.entries.get(key);
}

/** Reads an optional mapping; anything else is an error and reads as absent. */
export function readMap(node: TreeNode | undefined, context: ReadContext): MapNode | undefined {
  if (!present(node)) return undefined;
  if (node.kind === 'map') return node;
  context.issues.error(context.path, `expected a mapping, got ${describe(node)}`, node.at);
  return undefined;
}

export function readString(node: TreeNode | undefined, context: ReadContext): string | undefined {
  if (!present(node)) return undefined;
  if (node.kind === 'scalar' && typeof node.value === 'string') return node.value;
  context.issues.error(context.path, `expected a string, got ${describe(node)}`, node.at);
  return undefined;
}

export interface IntegerRange {
  readonly min: number;
  readonly max?: number;
}

export function readInteger(
  node: TreeNode | undefined,
  context: ReadContext,
  range: IntegerRange,
): number | undefined {
  if (!present(node)) return undefined;
  const value = node.kind === 'scalar' ? node.value : undefined;
  if (typeof value === 'number' && Number.isInteger(value) && value >= range.min) {
    if (range.max === undefined || value <= range.max) return value;
  }
  const expected =
    range.max === undefined
      ? `an integer ≥ ${range.min}`
      : `an integer between ${range.min} and ${range.max}`;
  context.issues.error(context.path, `expected ${expected}, got ${describe(node)}`, node.at);
  return undefined;
}

export function readPositiveNumber(node: TreeNode | undefined, context: ReadContext): number | undefined {
  if (!present(node)) return undefined;
  const value = node.kind === 'scalar' ? node.value : undefined;
  if (typeof value === 'number' && Number.isFinite(value) && value > 0) return value;
  context.issues.error(context.path, `expected a number > 0, got ${describe(node)}`, node.at);
  return undefined;
}

/**
 * A map of strings whose keys are kept as written. Numbers and booleans are coerced to their
 * source text (`PORT: 8080` → "8080", `VERSION: 1.10` → "1.10"), as SlimFaas does.
 */
export function readStringMap(
  node: TreeNode | undefined,
  context: ReadContext,
): Record<string, string> | undefined {
  const map = readMap(node, context);
  if (map === undefined) return present(node) ? undefined : {};
  const out: Record<string, string> = {};
  let ok = true;
  for (const [key, value] of map.entries) {
    if (value.kind === 'scalar' && value.value !== null) out[key] = value.text;
    else {
      context.issues.error([...context.path, key], `expected a string, got ${describe(value)}`, value.at);
      ok = false;
    }
  }
  return ok ? out : undefined;
}

/**
 * Reports every key of a structural mapping that the schema does not read: `unsupported` keys are
 * known to SlimFaas but not implemented here, anything else is unknown. Never silently ignored.
 */
export function warnAboutExtraKeys(
  map: MapNode | undefined,
  context: ReadContext,
  keys: { readonly known: readonly string[]; readonly unsupported: readonly string[] },
): void {
  if (map === undefined) return;
  for (const [key, value] of map.entries) {
    if (keys.known.includes(key)) continue;
    const sentence = keys.unsupported.includes(key)
      ? 'is not supported yet and is ignored'
      : 'is not a known key and is ignored';
    context.issues.warnKey([...context.path, key], sentence, value.at);
  }
}
