import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { expandPlaceholders, loadManifest } from '../../../src/config/manifest.js';
import { expectErrors, expectOk, fixture, manifestWriter } from './manifest-files.js';

const FIXTURES = dirname(fixture('valid-full.yaml'));

describe('loadManifest: a valid manifest', () => {
  it('reads every supported key of the full fixture, resolving paths against the manifest directory', () => {
    const { manifest, warnings } = expectOk(loadManifest([fixture('valid-full.yaml')]));
    expect(warnings).toEqual([]);
    expect(manifest).toMatchObject({
      schemaVersion: 1,
      name: 'demo',
      manifestDirectory: FIXTURES,
      cluster: { nodes: 1, entrypointPort: 30100 },
      processPorts: { from: 6000, to: 6099 },
      state: { mode: 'ephemeral', directory: join(FIXTURES, '.state/demo') },
    });
    expect(manifest.functions.map((fn) => fn.name)).toEqual(['fib', 'greeter']);
    const [fib] = manifest.functions;
    expect(fib).toMatchObject({
      command: ['node', 'server.mjs', '--port', '{port}', '--workers', '2'],
      workingDirectory: join(FIXTURES, 'src/fib'),
      health: { path: '/health', periodSeconds: 0.5, timeoutSeconds: 3, startupTimeoutSeconds: 30 },
    });
  });

  it('coerces numbers and booleans in environment and annotations to their source text', () => {
    const { manifest } = expectOk(loadManifest([fixture('valid-full.yaml')]));
    const fib = manifest.functions[0];
    expect(fib?.environment).toEqual({
      PORT_HINT: '{port}',
      REPLICA: '{replica}',
      VERSION: '1.10',
      DEBUG: 'true',
    });
    expect(fib?.annotations['SlimFaas/ReplicasAtStart']).toBe('2');
  });

  it('keeps {port} and {replica} placeholders as written for the orchestrator to expand', () => {
    const { manifest } = expectOk(loadManifest([fixture('valid-full.yaml')]));
    expect(manifest.functions[0]?.annotations['prometheus.io/port']).toBe('{port}');
    expect(manifest.functions[0]?.command).toContain('{port}');
  });

  it('parses each function’s annotations into its FunctionSpec', () => {
    const { manifest } = expectOk(loadManifest([fixture('valid-full.yaml')]));
    const [fib, greeter] = manifest.functions;
    expect(fib?.spec).toMatchObject({
      name: 'fib',
      replicasMin: 0,
      replicasAtStart: 2,
      timeoutSecondBeforeSetReplicasMin: 8,
      dependsOn: ['greeter'],
    });
    expect(greeter?.spec).toMatchObject({ name: 'greeter', replicasMin: 0, replicasAtStart: 1 });
  });

  it('applies every default to a minimal manifest', () => {
    const { manifest, warnings } = expectOk(loadManifest([fixture('minimal.yaml')]));
    expect(warnings).toEqual([]);
    expect(manifest).toMatchObject({
      schemaVersion: 1,
      cluster: { nodes: 1, entrypointPort: 30020 },
      processPorts: { from: 5000, to: 5999 },
      state: { mode: 'persistent', directory: join(FIXTURES, '.slimfaas/minimal') },
    });
    expect(manifest.functions[0]).toMatchObject({
      workingDirectory: FIXTURES,
      environment: {},
      annotations: {},
      health: { path: undefined, periodSeconds: 1, timeoutSeconds: 2, startupTimeoutSeconds: 120 },
    });
  });

  it('returns a deeply frozen manifest', () => {
    const { manifest } = expectOk(loadManifest([fixture('valid-full.yaml')]));
    expect(Object.isFrozen(manifest)).toBe(true);
    expect(Object.isFrozen(manifest.cluster)).toBe(true);
    expect(Object.isFrozen(manifest.functions)).toBe(true);
    expect(Object.isFrozen(manifest.functions[0]?.command)).toBe(true);
    expect(Object.isFrozen(manifest.functions[0]?.environment)).toBe(true);
    expect(Object.isFrozen(manifest.functions[0]?.health)).toBe(true);
    expect(Object.isFrozen(manifest.functions[0]?.spec)).toBe(true);
  });

  it('replaces the entrypoint port with portOverride, 0 included', () => {
    const { manifest } = expectOk(loadManifest([fixture('valid-full.yaml')], { portOverride: 0 }));
    expect(manifest.cluster.entrypointPort).toBe(0);
  });

  it('reports an out-of-range portOverride', () => {
    expect(expectErrors(loadManifest([fixture('minimal.yaml')], { portOverride: 70000 }))).toEqual([
      '--port: expected an integer between 0 and 65535, got 70000',
    ]);
  });
});

describe('loadManifest: several files', () => {
  it('deep-merges in order: mappings merge, scalars and lists are replaced, null deletes', () => {
    const result = loadManifest([fixture('overlay-base.yaml'), fixture('overlay-dev.yaml')]);
    const { manifest } = expectOk(result);
    expect(manifest.name).toBe('base');
    expect(manifest.cluster.entrypointPort).toBe(30200);
    expect(manifest.functions.map((fn) => fn.name)).toEqual(['fib']);
    const fib = manifest.functions[0];
    expect(fib?.command).toEqual(['node', 'fib.mjs']);
    expect(fib?.environment).toEqual({ KEEP: 'kept', CHANGE: 'after', ADDED: 'new' });
    expect(fib?.annotations).toEqual({ 'SlimFaas/Function': 'true' });
    expect(fib?.spec.replicasMin).toBe(0);
    expect(fib?.health).toMatchObject({ path: '/ready', timeoutSeconds: 5 });
  });

  it('resolves relative paths against the first file’s directory', () => {
    const write = manifestWriter();
    const overlay = write('overlay.yaml', 'state: { directory: data }\n');
    const { manifest } = expectOk(loadManifest([fixture('minimal.yaml'), overlay]));
    expect(manifest.manifestDirectory).toBe(FIXTURES);
    expect(manifest.state.directory).toBe(join(FIXTURES, 'data'));
  });
});

describe('loadManifest: keys', () => {
  it('matches structural keys case-insensitively but keeps environment keys as written', () => {
    const { manifest, warnings } = expectOk(loadManifest([fixture('case-insensitive.yaml')]));
    expect(warnings).toEqual([]);
    expect(manifest).toMatchObject({
      name: 'mixed-case',
      cluster: { entrypointPort: 30300 },
      processPorts: { from: 7000, to: 7010 },
      state: { mode: 'ephemeral' },
    });
    expect(manifest.functions[0]?.environment).toEqual({ camelCaseKey: 'value', UPPER_KEY: 'VALUE' });
    expect(manifest.functions[0]?.health).toMatchObject({ path: '/health', periodSeconds: 2 });
  });

  it('merges structural keys written in different cases across files', () => {
    const write = manifestWriter();
    const overlay = write('overlay.yaml', 'CLUSTER: { ENTRYPOINTPORT: 31000 }\n');
    const { manifest } = expectOk(loadManifest([fixture('case-insensitive.yaml'), overlay]));
    expect(manifest.cluster.entrypointPort).toBe(31000);
  });

  it('warns about each key SlimFaas supports but this implementation does not, and about unknown keys', () => {
    const file = fixture('unsupported-keys.yaml');
    const { warnings } = expectOk(loadManifest([file]));
    const name = 'unsupported-keys.yaml';
    expect(warnings.map((warning) => warning.replace(file, name))).toEqual([
      `processes is not supported yet and is ignored (${name}:8)`,
      `registry is not a known key and is ignored (${name}:24)`,
      `cluster.nodeHttpPortBase is not supported yet and is ignored (${name}:4)`,
      `cluster.raftPortBase is not supported yet and is ignored (${name}:5)`,
      `cluster.nodeLogLevel is not supported yet and is ignored (${name}:6)`,
      `cluster.colour is not a known key and is ignored (${name}:7)`,
      `functions.fib.debugUrl is not supported yet and is ignored (${name}:17)`,
      `functions.fib.shutdown is not supported yet and is ignored (${name}:18)`,
      `functions.fib.image is not a known key and is ignored (${name}:19)`,
      `functions.fib.health.interval is not a known key and is ignored (${name}:20)`,
      `functions.fib.annotations["SlimFaas/DependsOn"]: "fib2" is not a function of this manifest; it is treated as always ready (${name}:23)`,
      `functions.fib.annotations["SlimFaas/DependsOn"]: "database" is not a function of this manifest; it is treated as always ready (${name}:23)`,
    ]);
  });

  it('keeps the node count asked for, and warns that 2 nodes do not survive a node loss', () => {
    const { manifest } = expectOk(loadManifest([fixture('unsupported-keys.yaml')]));
    expect(manifest.cluster.nodes).toBe(3);
    const write = manifestWriter();
    const file = write('two.yaml', 'name: two\ncluster:\n  nodes: 2\nfunctions: {}\n');
    const two = expectOk(loadManifest([file]));
    expect(two.manifest.cluster.nodes).toBe(2);
    expect(two.warnings).toEqual([
      `cluster.nodes: a 2-node cluster stops when either node stops (NATS JetStream needs a majority); use 1 or 3 (${file}:3)`,
    ]);
  });

  it('passes annotation warnings through under the annotation’s path', () => {
    const write = manifestWriter();
    const file = write(
      'typo.yaml',
      'name: typo\nfunctions:\n  fib:\n    command: [node]\n    annotations:\n      SlimFaas/ReplicaMin: "1"\n',
    );
    const { warnings } = expectOk(loadManifest([file]));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(
      /^functions\.fib\.annotations\["SlimFaas\/ReplicaMin"\]: .*SlimFaas\/ReplicasMin/,
    );
    expect(warnings[0]).toMatch(/\(.*typo\.yaml:6\)$/);
  });
});

describe('expandPlaceholders', () => {
  it('replaces every {port} and {replica}', () => {
    expect(expandPlaceholders('http://127.0.0.1:{port}/r{replica}/{port}', { port: 5001, replica: 2 })).toBe(
      'http://127.0.0.1:5001/r2/5001',
    );
  });

  it('leaves other braces and text without placeholders unchanged', () => {
    expect(expandPlaceholders('{"a":{name}} {PORT}', { port: 1, replica: 0 })).toBe('{"a":{name}} {PORT}');
  });
});
