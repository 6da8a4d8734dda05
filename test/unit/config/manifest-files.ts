import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll } from 'vitest';
import type { Manifest, ManifestResult } from '../../../src/config/manifest.js';

/** Absolute path of a file in test/fixtures/manifests. */
export function fixture(name: string): string {
  return fileURLToPath(new URL(`../../fixtures/manifests/${name}`, import.meta.url));
}

/**
 * Writes manifests into a fresh temp directory per test file (removed after the file's tests), for
 * cases too small to deserve a fixture. Returns the absolute path written.
 */
export function manifestWriter(): (name: string, text: string) => string {
  const directory = mkdtempSync(join(tmpdir(), 'slimfaas-manifest-'));
  afterAll(() => rmSync(directory, { recursive: true, force: true }));
  return (name, text) => {
    const path = join(directory, name);
    writeFileSync(path, text);
    return path;
  };
}

export function expectOk(result: ManifestResult): { manifest: Manifest; warnings: readonly string[] } {
  if (!result.ok) throw new Error(`expected a valid manifest, got:\n${result.errors.join('\n')}`);
  return result;
}

export function expectErrors(result: ManifestResult): readonly string[] {
  if (result.ok) throw new Error('expected manifest errors, got a valid manifest');
  return result.errors;
}
