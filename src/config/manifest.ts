import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { deepFreeze } from './deep-freeze.js';
import { MANIFEST_SHAPE, readManifest } from './manifest-root.js';
import type { ManifestResult } from './manifest-types.js';
import { Issues } from './tree-readers.js';
import { mergeTrees, parseYamlFile, type MapNode } from './yaml-tree.js';

export type {
  HealthCheck,
  Manifest,
  ManifestFunction,
  ManifestJob,
  ManifestResult,
  StateMode,
} from './manifest-types.js';

export interface LoadManifestOptions {
  /** `slimfaas up --port N`: replaces `cluster.entrypointPort` (0 = any free port). */
  readonly portOverride?: number;
}

/**
 * Reads, merges (in order, SlimFaas's deep merge) and validates local manifest files (reference §6,
 * schemaVersion 1). Relative paths in the manifest are resolved against the first file's directory.
 * Every problem is returned at once, each prefixed with its path; unsupported or unknown keys are
 * warnings. Files that cannot be read or parsed stop before validation (their content is unknown).
 * The manifest is deeply frozen.
 */
export function loadManifest(files: readonly string[], options: LoadManifestOptions = {}): ManifestResult {
  const issues = new Issues();
  const [first] = files;
  if (first === undefined) return { ok: false, errors: ['no manifest file given'], warnings: [] };
  const portOverride = options.portOverride;
  if (
    portOverride !== undefined &&
    !(Number.isInteger(portOverride) && portOverride >= 0 && portOverride <= 65535)
  ) {
    issues.errors.push(`--port: expected an integer between 0 and 65535, got ${portOverride}`);
  }
  const roots = parseFiles(files, issues.errors);
  if (roots === undefined) return { ok: false, errors: issues.errors, warnings: issues.warnings };
  const merged = roots.reduce(mergeTrees);
  const manifest = readManifest(merged, {
    issues,
    manifestDirectory: dirname(resolve(first)),
    portOverride,
  });
  if (manifest === undefined || issues.errors.length > 0) {
    return { ok: false, errors: issues.errors, warnings: issues.warnings };
  }
  return deepFreeze({ ok: true, manifest, warnings: issues.warnings });
}

/** Undefined when any file is unreadable or not valid YAML; errors name the file and line. */
function parseFiles(files: readonly string[], errors: string[]): MapNode[] | undefined {
  const roots: MapNode[] = [];
  let usable = true;
  for (const file of files) {
    const text = readText(file, errors);
    const parsed =
      text === undefined ? { ok: false as const } : parseYamlFile({ file, text }, MANIFEST_SHAPE, errors);
    if (parsed.ok) roots.push(parsed.root);
    else usable = false;
  }
  return usable ? roots : undefined;
}

function readText(file: string, errors: string[]): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason =
      code === 'ENOENT'
        ? 'file not found'
        : code === 'EISDIR'
          ? 'is a directory'
          : `cannot be read (${String(error)})`;
    errors.push(`${file}: ${reason}`);
    return undefined;
  }
}

export { expandPlaceholders } from '../core/placeholders.js';
