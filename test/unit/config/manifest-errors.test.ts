import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadManifest } from '../../../src/config/manifest.js';
import { expectErrors, expectOk, fixture, manifestWriter } from './manifest-files.js';

const write = manifestWriter();

/** Errors of a manifest file, with the file's absolute path shortened to its name. */
function errorsOf(name: string, text?: string): string[] {
  const file = text === undefined ? fixture(name) : write(name, text);
  return expectErrors(loadManifest([file])).map((error) => error.replaceAll(file, name));
}

/** Not a fixture file: a broken YAML file would break `prettier --check .` for the whole repository. */
const SYNTAX_ERROR = 'name: broken\nfunctions:\n  fib:\n    command: [node, "fib.mjs]\n';

const withFunction = (fn: string): string => `name: demo\nfunctions:\n  fib:\n${fn}`;

describe('loadManifest: every problem at once', () => {
  it('lists every problem of a broken manifest, each prefixed with its path and located', () => {
    const fibDirectory = join(fixture('.'), 'does/not/exist');
    expect(errorsOf('many-errors.yaml')).toEqual([
      'schemaVersion: only schema version 1 is supported, got 2 (many-errors.yaml:1)',
      'name: expected a DNS-1123 label: lowercase letters, digits and "-", starting and ending with a letter or digit, at most 63 characters, got "Not_A_Label" (many-errors.yaml:2)',
      'cluster.nodes: expected an integer between 1 and 3, got 4 (many-errors.yaml:4)',
      'cluster.entrypointPort: expected an integer between 0 and 65535, got 70000 (many-errors.yaml:5)',
      'processPorts.from: expected an integer between 1 and 65535, got 0 (many-errors.yaml:6)',
      'state.mode: expected "persistent" or "ephemeral", got "sometimes" (many-errors.yaml:8)',
      'functions.Bad_Name: invalid function name: expected a DNS-1123 label: lowercase letters, digits and "-", starting and ending with a letter or digit, at most 63 characters (many-errors.yaml:10)',
      'functions.fib.command: expected a non-empty list of strings (no shell is used: split it), got "node server.mjs" (many-errors.yaml:13)',
      `functions.fib.workingDirectory: directory "${fibDirectory}" does not exist (many-errors.yaml:14)`,
      'functions.fib.environment.NESTED: expected a string, got a mapping (many-errors.yaml:16)',
      'functions.fib.environment.EMPTY: expected a string, got null (many-errors.yaml:17)',
      'functions.fib.health.path: expected a path starting with "/", got "health" (many-errors.yaml:19)',
      'functions.fib.health.periodSeconds: expected a number > 0, got 0 (many-errors.yaml:20)',
      'functions.fib.health.timeoutSeconds: expected a number > 0, got "fast" (many-errors.yaml:21)',
      'functions.empty-command.command: expected a non-empty list of strings, got an empty list (many-errors.yaml:23)',
      'functions.no-command.command: required: the program and its arguments, as a list',
      'functions.bad-annotation.annotations["SlimFaas/DefaultVisibility"]: expected Public or Private, got "Secret" (many-errors.yaml:31)',
      'functions.bad-annotation.annotations["SlimFaas/ReplicasMin"]: expected an integer ≥ 0, got "abc" (many-errors.yaml:30)',
    ]);
  });

  it('requires a name', () => {
    expect(errorsOf('no-name.yaml', 'functions: {}\n')).toEqual([
      'name: required: the name of this SlimFaas instance (expected a DNS-1123 label: lowercase letters, digits and "-", starting and ending with a letter or digit, at most 63 characters)',
    ]);
  });

  it('rejects a processPorts range whose "from" is above its "to"', () => {
    expect(errorsOf('ports-reversed.yaml')).toEqual([
      'processPorts: "from" (6000) must not be greater than "to" (5000) (ports-reversed.yaml:2)',
    ]);
  });

  it('rejects a processPorts range containing the entrypoint port', () => {
    expect(errorsOf('ports-overlap.yaml')).toEqual([
      'processPorts: 5000-5999 contains cluster.entrypointPort 5500; replicas would collide with the entrypoint',
    ]);
  });

  it('checks the port range against the --port override, not the manifest’s port', () => {
    const result = loadManifest([fixture('minimal.yaml')], { portOverride: 5000 });
    expect(expectErrors(result)).toEqual([
      'processPorts: 5000-5999 contains cluster.entrypointPort 5000; replicas would collide with the entrypoint',
    ]);
  });

  it('names a non-string health path and a non-mapping section', () => {
    expect(errorsOf('health.yaml', withFunction('    command: [node]\n    health: { path: 42 }\n'))).toEqual([
      'functions.fib.health.path: expected a string, got 42 (health.yaml:5)',
    ]);
    expect(errorsOf('state.yaml', 'name: demo\nstate: [a]\n')).toEqual([
      'state: expected a mapping, got a list (state.yaml:2)',
    ]);
  });

  it('names the index of a bad command argument', () => {
    expect(errorsOf('argv.yaml', withFunction('    command: [node, {a: 1}, ~]\n'))).toEqual([
      'functions.fib.command[1]: expected a non-empty string, got a mapping (argv.yaml:4)',
      'functions.fib.command[2]: expected a non-empty string, got null (argv.yaml:4)',
    ]);
  });

  it('reports a function without a body', () => {
    expect(errorsOf('empty-fn.yaml', withFunction(''))).toEqual([
      'functions.fib: expected a mapping with at least "command", got null (empty-fn.yaml:3)',
    ]);
  });

  it('reports an annotation that is not a string under its exact key', () => {
    const text = withFunction('    command: [node]\n    annotations:\n      SlimFaas/Schedule: { a: 1 }\n');
    expect(errorsOf('annotation.yaml', text)).toEqual([
      'functions.fib.annotations["SlimFaas/Schedule"]: expected a string, got a mapping (annotation.yaml:6)',
    ]);
  });

  it('reports invalid annotation values through the annotation parser, under the exact key', () => {
    const text = withFunction('    command: [node]\n    annotations:\n      SlimFaas/ReplicasMin: abc\n');
    expect(errorsOf('replicas.yaml', text)).toEqual([
      'functions.fib.annotations["SlimFaas/ReplicasMin"]: expected an integer ≥ 0, got "abc" (replicas.yaml:6)',
    ]);
  });

  it('accepts an explicit null as "use the default" for optional keys', () => {
    const file = write(
      'nulls.yaml',
      withFunction('    command: [node]\n    health: ~\n    environment: ~\n'),
    );
    const { manifest } = expectOk(loadManifest([file]));
    expect(manifest.functions[0]?.health.timeoutSeconds).toBe(2);
    expect(manifest.functions[0]?.environment).toEqual({});
  });
});

describe('loadManifest: files that cannot be used', () => {
  it('reports YAML syntax errors with file, line and column', () => {
    const errors = errorsOf('syntax-error.yaml', SYNTAX_ERROR);
    expect(errors.length).toBeGreaterThan(0);
    for (const error of errors) expect(error).toMatch(/^syntax-error\.yaml:\d+:\d+: \S/);
    expect(errors[0]).toContain('Missing closing "quote');
  });

  it('reports duplicate keys with file and line, structural keys compared case-insensitively', () => {
    expect(errorsOf('duplicate-keys.yaml')).toEqual([
      'duplicate-keys.yaml:7: duplicate key "fib"',
      'duplicate-keys.yaml:9: duplicate key "Name" (same as "name": structural keys are case-insensitive)',
    ]);
  });

  it('lists duplicate keys together with the validation errors', () => {
    const errors = errorsOf('dupe-and-bad.yaml', 'name: demo\nname: Bad\n');
    expect(errors).toEqual([
      'dupe-and-bad.yaml:2: duplicate key "name"',
      'name: expected a DNS-1123 label: lowercase letters, digits and "-", starting and ending with a letter or digit, at most 63 characters, got "Bad" (dupe-and-bad.yaml:2)',
    ]);
  });

  it('keeps environment keys that differ only in case apart', () => {
    const text = withFunction('    command: [node]\n    environment: { Path: a, PATH: b }\n');
    const { manifest } = expectOk(loadManifest([write('env-case.yaml', text)]));
    expect(manifest.functions[0]?.environment).toEqual({ Path: 'a', PATH: 'b' });
  });

  it('reports every missing or broken file before validating anything', () => {
    const missing = join(fixture('.'), 'missing.yaml');
    const broken = write('broken.yaml', SYNTAX_ERROR);
    const errors = expectErrors(loadManifest([missing, broken, fixture('many-errors.yaml')]));
    expect(errors[0]).toBe(`${missing}: file not found`);
    expect(errors.length).toBeGreaterThan(1);
    expect(errors.slice(1).every((error) => error.startsWith(`${broken}:`))).toBe(true);
  });

  it('rejects a top level that is not a mapping', () => {
    expect(errorsOf('list.yaml', '- a\n- b\n')).toEqual(['list.yaml:1: expected a mapping at the top level']);
  });

  it('rejects an empty file list', () => {
    expect(expectErrors(loadManifest([]))).toEqual(['no manifest file given']);
  });

  it('reads an alias as the value it points to', () => {
    const text = 'name: demo\nfunctions:\n  a:\n    command: &cmd [node, x.mjs]\n  b:\n    command: *cmd\n';
    const { manifest } = expectOk(loadManifest([write('alias.yaml', text)]));
    expect(manifest.functions[1]?.command).toEqual(['node', 'x.mjs']);
  });
});
