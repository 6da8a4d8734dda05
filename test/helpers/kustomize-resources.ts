import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseAllDocuments } from 'yaml';

/** A Kubernetes object as written in a manifest (only what the checks read is typed). */
export interface ManifestObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly labels?: Record<string, string> };
  readonly spec?: Record<string, unknown>;
  readonly data?: Record<string, string>;
  readonly rules?: readonly RoleRule[];
  readonly roleRef?: { readonly kind: string; readonly name: string };
  readonly subjects?: readonly { readonly kind: string; readonly name: string }[];
  /** The file it came from, relative to the deploy root (for messages). */
  readonly file: string;
}

export interface RoleRule {
  readonly apiGroups: readonly string[];
  readonly resources: readonly string[];
  readonly verbs: readonly string[];
}

/** Every `.yaml` file under `root`, recursively. */
export function yamlFiles(root: string): string[] {
  return readdirSync(root).flatMap((entry) => {
    const path = join(root, entry);
    if (statSync(path).isDirectory()) return yamlFiles(path);
    return entry.endsWith('.yaml') || entry.endsWith('.yml') ? [path] : [];
  });
}

/** The documents of one file; a YAML error throws with the file name. */
export function parseYamlFile(path: string): unknown[] {
  const documents = parseAllDocuments(readFileSync(path, 'utf8'));
  return documents.map((document) => {
    if (document.errors.length > 0) {
      throw new Error(`${path}: ${document.errors.map((e) => e.message).join('; ')}`);
    }
    return document.toJS() as unknown;
  });
}

/**
 * The objects a `kubectl apply -k directory` would create, following `resources:` (files and
 * directories holding a kustomization.yaml), as kustomize does without patches or generators.
 */
export function kustomizeResources(root: string, directory: string): ManifestObject[] {
  const kustomization = join(directory, 'kustomization.yaml');
  if (!existsSync(kustomization)) throw new Error(`${relative(root, directory)}: no kustomization.yaml`);
  const [content] = parseYamlFile(kustomization) as [{ resources?: string[] } | undefined];
  return (content?.resources ?? []).flatMap((resource) => {
    const path = join(directory, resource);
    if (!existsSync(path)) throw new Error(`${relative(root, kustomization)}: missing resource ${resource}`);
    if (statSync(path).isDirectory()) return kustomizeResources(root, path);
    return (parseYamlFile(path) as Omit<ManifestObject, 'file'>[]).map((object) => ({
      ...object,
      file: relative(root, path),
    }));
  });
}
