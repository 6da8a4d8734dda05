import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';

/** Where a value was written, for error messages: the file as the user named it, 1-based line. */
export interface SourceLocation {
  readonly file: string;
  readonly line: number;
}

export type ScalarValue = string | number | boolean | null;

/**
 * A YAML value with the location it came from. Scalars keep their source text so that
 * `VERSION: 1.10` can become the string "1.10", not "1.1".
 */
export type TreeNode =
  | { readonly kind: 'map'; readonly entries: ReadonlyMap<string, TreeNode>; readonly at: SourceLocation }
  | { readonly kind: 'seq'; readonly items: readonly TreeNode[]; readonly at: SourceLocation }
  | {
      readonly kind: 'scalar';
      readonly value: ScalarValue;
      readonly text: string;
      readonly at: SourceLocation;
    };

export type MapNode = Extract<TreeNode, { kind: 'map' }>;

/**
 * Which mappings are structural (their keys are matched case-insensitively against known names,
 * as SlimFaas does) and which are user maps (function names, environment, annotations: exact keys).
 */
export type Shape =
  | { readonly kind: 'struct'; readonly fields: Readonly<Record<string, Shape>> }
  | { readonly kind: 'mapOf'; readonly value: Shape }
  | { readonly kind: 'any' };

export type ParsedFile = { readonly ok: true; readonly root: MapNode } | { readonly ok: false };

interface Walk {
  readonly file: string;
  readonly doc: Document;
  readonly lines: LineCounter;
  readonly errors: string[];
}

/** Aliases may point at ancestors; this bounds the walk instead of recursing forever. */
const MAX_DEPTH = 64;

/**
 * Parses one YAML file into a TreeNode mapping, canonicalising structural keys along `shape`.
 * Syntax errors make the file unusable (`ok: false`); duplicate keys are reported in `errors`
 * but the file stays usable (the later value wins) so that the other problems can be listed too.
 */
export function parseYamlFile(
  { file, text }: { readonly file: string; readonly text: string },
  shape: Shape,
  errors: string[],
): ParsedFile {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: false, prettyErrors: false });
  if (doc.errors.length > 0) {
    for (const error of doc.errors) {
      const pos = lines.linePos(error.pos[0]);
      errors.push(
        `${file}:${pos.line}:${pos.col}: ${error.message.replace(/ at line \d+, column \d+[\s\S]*$/, '')}`,
      );
    }
    return { ok: false };
  }
  const at = { file, line: 1 };
  if (doc.contents === null) return { ok: true, root: { kind: 'map', entries: new Map(), at } };
  const root = toTree(doc.contents, shape, { file, doc, lines, errors }, 0);
  if (root === undefined) return { ok: false };
  if (root.kind !== 'map') {
    errors.push(`${file}:${root.at.line}: expected a mapping at the top level`);
    return { ok: false };
  }
  return { ok: true, root };
}

function toTree(node: Node, shape: Shape, walk: Walk, depth: number): TreeNode | undefined {
  const at = { file: walk.file, line: walk.lines.linePos(node.range?.[0] ?? 0).line };
  if (depth > MAX_DEPTH) {
    walk.errors.push(
      `${walk.file}:${at.line}: nesting is deeper than ${MAX_DEPTH} levels (recursive alias?)`,
    );
    return undefined;
  }
  if (isAlias(node)) {
    const target = node.resolve(walk.doc);
    if (target === undefined) {
      walk.errors.push(`${walk.file}:${at.line}: unknown alias "*${node.source}"`);
      return undefined;
    }
    return toTree(target, shape, walk, depth + 1);
  }
  if (isScalar(node)) return scalarNode(node.value, node.source, at);
  if (isSeq(node)) {
    const items: TreeNode[] = [];
    for (const item of node.items) {
      const child = isNodeLike(item) ? toTree(item, { kind: 'any' }, walk, depth + 1) : nullNode(at);
      if (child === undefined) return undefined;
      items.push(child);
    }
    return { kind: 'seq', items, at };
  }
  if (isMap(node)) return mapToTree(node.items, shape, walk, { depth, at });
  walk.errors.push(`${walk.file}:${at.line}: unsupported YAML node`);
  return undefined;
}

function mapToTree(
  pairs: readonly { key: unknown; value: unknown }[],
  shape: Shape,
  walk: Walk,
  { depth, at }: { depth: number; at: SourceLocation },
): TreeNode | undefined {
  const entries = new Map<string, TreeNode>();
  const writtenAs = new Map<string, string>();
  for (const pair of pairs) {
    if (!isScalar(pair.key)) {
      const line = isNodeLike(pair.key) ? lineOf(pair.key, walk) : at.line;
      walk.errors.push(`${walk.file}:${line}: mapping keys must be plain scalars`);
      return undefined;
    }
    const written = pair.key.source ?? String(pair.key.value);
    const key = canonicalKey(written, shape);
    const previous = writtenAs.get(key);
    if (previous !== undefined) {
      const why =
        previous === written ? '' : ` (same as "${previous}": structural keys are case-insensitive)`;
      walk.errors.push(`${walk.file}:${lineOf(pair.key, walk)}: duplicate key "${written}"${why}`);
    }
    writtenAs.set(key, written);
    const keyAt = { file: walk.file, line: lineOf(pair.key, walk) };
    const child = isNodeLike(pair.value)
      ? toTree(pair.value, childShape(shape, key), walk, depth + 1)
      : nullNode(keyAt);
    if (child === undefined) return undefined;
    // Point at the key's line: for a nested mapping or list that is where the user looks.
    entries.set(key, { ...child, at: keyAt });
  }
  return { kind: 'map', entries, at };
}

function canonicalKey(written: string, shape: Shape): string {
  if (shape.kind !== 'struct') return written;
  const lower = written.toLowerCase();
  return Object.keys(shape.fields).find((name) => name.toLowerCase() === lower) ?? written;
}

function childShape(shape: Shape, key: string): Shape {
  if (shape.kind === 'mapOf') return shape.value;
  if (shape.kind === 'struct') return shape.fields[key] ?? { kind: 'any' };
  return shape;
}

function scalarNode(value: unknown, source: string | undefined, at: SourceLocation): TreeNode {
  if (value === null || value === undefined) return nullNode(at);
  if (typeof value === 'string' || typeof value === 'boolean') {
    return { kind: 'scalar', value, text: typeof value === 'string' ? value : (source ?? String(value)), at };
  }
  if (typeof value === 'number' || typeof value === 'bigint') {
    return { kind: 'scalar', value: Number(value), text: source ?? String(value), at };
  }
  // Only custom tags get here (the core schema yields strings, numbers, booleans and null).
  const text = source ?? '';
  return { kind: 'scalar', value: text, text, at };
}

function nullNode(at: SourceLocation): TreeNode {
  return { kind: 'scalar', value: null, text: '', at };
}

function isNodeLike(value: unknown): value is Node {
  return typeof value === 'object' && value !== null && 'range' in value;
}

function lineOf(node: Node, walk: Walk): number {
  return walk.lines.linePos(node.range?.[0] ?? 0).line;
}

/**
 * SlimFaas's multi-file merge: mappings merge key by key, scalars and sequences are replaced,
 * and a `null` in a later file deletes the key. Nulls in the first file are kept (they read as
 * "absent" for optional fields), so a `fib:` with nothing under it is reported, not dropped.
 */
export function mergeTrees(base: MapNode, overlay: MapNode): MapNode {
  const entries = new Map(base.entries);
  for (const [key, value] of overlay.entries) {
    const current = entries.get(key);
    if (value.kind === 'scalar' && value.value === null) entries.delete(key);
    else if (current?.kind === 'map' && value.kind === 'map') entries.set(key, mergeTrees(current, value));
    else entries.set(key, value);
  }
  return { kind: 'map', entries, at: base.at };
}
