import { describe, expect, it } from 'vitest';
import { parseFunctionAnnotations, type AnnotationProblem } from '../../../src/core/annotations.js';
import { DEFAULT_CONFIGURATION, type FunctionSpec } from '../../../src/core/function-spec.js';

function parseOk(
  annotations: Record<string, string>,
  name = 'fib',
): { spec: FunctionSpec; warnings: readonly AnnotationProblem[] } {
  const result = parseFunctionAnnotations(name, annotations);
  if (!result.ok) throw new Error(`unexpected problems: ${JSON.stringify(result.problems)}`);
  return result;
}

function problemsOf(annotations: Record<string, string>, name = 'fib'): readonly AnnotationProblem[] {
  const result = parseFunctionAnnotations(name, annotations);
  if (result.ok) throw new Error('expected the annotations to be rejected');
  return result.problems;
}

const messages = (list: readonly AnnotationProblem[]) => list.map((p) => `${p.key}: ${p.message}`);

describe('parseFunctionAnnotations: defaults', () => {
  it('applies every default when only SlimFaas/Function is set', () => {
    const { spec, warnings } = parseOk({ 'SlimFaas/Function': 'true' });
    expect(spec).toEqual({
      name: 'fib',
      replicasMin: 0,
      replicasAtStart: 1,
      timeoutSecondBeforeSetReplicasMin: 300,
      numberParallelRequest: 10,
      numberParallelRequestPerPod: 10,
      replicasStartAsSoonAsOneFunctionRetrieveARequest: false,
      dependsOn: [],
      schedule: undefined,
      subscribeEvents: [],
      defaultVisibility: 'Public',
      pathsStartWithVisibility: [],
      defaultTrust: 'Trusted',
      configuration: DEFAULT_CONFIGURATION,
    });
    expect(warnings).toEqual([]);
  });

  it('ignores non-SlimFaas annotations silently', () => {
    const { warnings } = parseOk({
      'prometheus.io/scrape': 'true',
      'prometheus.io/port': 'not-a-number',
      'kubectl.kubernetes.io/restartedAt': '2026-01-01',
    });
    expect(warnings).toEqual([]);
  });
});

describe('parseFunctionAnnotations: every key', () => {
  const annotations = {
    'SlimFaas/Function': 'TRUE',
    'SlimFaas/ReplicasMin': '1',
    'SlimFaas/ReplicasAtStart': ' 2 ',
    'SlimFaas/TimeoutSecondBeforeSetReplicasMin': '0',
    'SlimFaas/NumberParallelRequest': '20',
    'SlimFaas/NumberParallelRequestPerPod': '1',
    'SlimFaas/ReplicasStartAsSoonAsOneFunctionRetrieveARequest': 'True',
    'SlimFaas/DependsOn': ' mysql, ,redis ,mysql,',
    'SlimFaas/Schedule': JSON.stringify({
      TimeZoneID: 'europe/paris',
      Default: { WakeUp: ['7:00', '19:30'], ScaleDownTimeout: [{ Time: '07:00', Value: 20 }] },
    }),
    'SlimFaas/SubscribeEvents': 'Public:reload, private:Purge ,audit',
    'SlimFaas/DefaultVisibility': 'private',
    'SlimFaas/PathsStartWithVisibility': 'Private:/admin, //health, Public:docs,metrics',
    'SlimFaas/DefaultTrust': 'untrusted',
    'SlimFaas/Configuration': JSON.stringify({
      DefaultSync: { HttpTimeout: 30 },
      DefaultAsync: { TimeoutRetries: [], HttpStatusRetries: null },
      DefaultPublish: { HttpTimeout: 2.5, TimeoutRetries: [1, 0.5], HttpStatusRetries: [429] },
    }),
  };

  it('parses each annotation into the spec', () => {
    const { spec, warnings } = parseOk(annotations);
    expect(warnings).toEqual([]);
    expect(spec).toEqual({
      name: 'fib',
      replicasMin: 1,
      replicasAtStart: 2,
      timeoutSecondBeforeSetReplicasMin: 0,
      numberParallelRequest: 20,
      numberParallelRequestPerPod: 1,
      replicasStartAsSoonAsOneFunctionRetrieveARequest: true,
      dependsOn: ['mysql', 'redis'],
      schedule: {
        timeZoneId: 'Europe/Paris',
        wakeUp: [
          { hour: 7, minute: 0 },
          { hour: 19, minute: 30 },
        ],
        scaleDownTimeout: [{ time: { hour: 7, minute: 0 }, valueSeconds: 20 }],
      },
      subscribeEvents: [
        { name: 'reload', visibility: 'Public' },
        { name: 'Purge', visibility: 'Private' },
        { name: 'audit', visibility: 'Private' },
      ],
      defaultVisibility: 'Private',
      pathsStartWithVisibility: [
        { path: '/admin', visibility: 'Private' },
        { path: '/health', visibility: 'Public' },
        { path: '/docs', visibility: 'Public' },
        { path: '/metrics', visibility: 'Public' },
      ],
      defaultTrust: 'Untrusted',
      configuration: {
        defaultSync: { httpTimeoutSeconds: 30 },
        defaultAsync: {
          httpTimeoutSeconds: 120,
          timeoutRetriesSeconds: [],
          httpStatusRetries: [500, 502, 503],
        },
        defaultPublish: {
          httpTimeoutSeconds: 2.5,
          timeoutRetriesSeconds: [1, 0.5],
          httpStatusRetries: [429],
        },
      },
    });
  });

  it('returns a deeply frozen spec', () => {
    const { spec } = parseOk(annotations);
    expect(Object.isFrozen(spec)).toBe(true);
    expect(Object.isFrozen(spec.dependsOn)).toBe(true);
    expect(Object.isFrozen(spec.schedule?.wakeUp[0])).toBe(true);
    expect(Object.isFrozen(spec.subscribeEvents[0])).toBe(true);
    expect(Object.isFrozen(spec.configuration.defaultPublish.httpStatusRetries)).toBe(true);
    expect(() => (spec.dependsOn as string[]).push('x')).toThrow(TypeError);
  });

  it('defaults the schedule time zone to UTC and missing lists to empty', () => {
    const { spec } = parseOk({ 'SlimFaas/Schedule': '{"Default":{"WakeUp":null}}' });
    expect(spec.schedule).toEqual({ timeZoneId: 'UTC', wakeUp: [], scaleDownTimeout: [] });
  });

  it('keeps default Configuration sections and properties that are omitted or null', () => {
    const { spec } = parseOk({ 'SlimFaas/Configuration': '{"DefaultAsync":null,"DefaultPublish":{}}' });
    expect(spec.configuration).toEqual(DEFAULT_CONFIGURATION);
  });

  it('lets an unprefixed event follow the default visibility, but an unprefixed path stays Public', () => {
    const { spec } = parseOk({
      'SlimFaas/DefaultVisibility': 'Private',
      'SlimFaas/SubscribeEvents': 'reload',
      'SlimFaas/PathsStartWithVisibility': '/status',
    });
    expect(spec.subscribeEvents).toEqual([{ name: 'reload', visibility: 'Private' }]);
    expect(spec.pathsStartWithVisibility).toEqual([{ path: '/status', visibility: 'Public' }]);
  });
});

describe('parseFunctionAnnotations: problems', () => {
  it('names key, value and expectation in a short message', () => {
    expect(problemsOf({ 'SlimFaas/ReplicasMin': 'abc' })).toEqual([
      { key: 'SlimFaas/ReplicasMin', value: 'abc', message: 'expected an integer ≥ 0, got "abc"' },
    ]);
  });

  it('rejects negative, fractional and too-small integers', () => {
    expect(
      messages(
        problemsOf({
          'SlimFaas/ReplicasAtStart': '-1',
          'SlimFaas/TimeoutSecondBeforeSetReplicasMin': '1.5',
          'SlimFaas/NumberParallelRequest': '0',
          'SlimFaas/NumberParallelRequestPerPod': '',
        }),
      ),
    ).toEqual([
      'SlimFaas/ReplicasAtStart: expected an integer ≥ 0, got "-1"',
      'SlimFaas/TimeoutSecondBeforeSetReplicasMin: expected an integer ≥ 0, got "1.5"',
      'SlimFaas/NumberParallelRequest: expected an integer ≥ 1, got "0"',
      'SlimFaas/NumberParallelRequestPerPod: expected an integer ≥ 1, got ""',
    ]);
  });

  it('lists every problem of every key, not just the first', () => {
    const problems = problemsOf(
      {
        'SlimFaas/Function': 'false',
        'SlimFaas/ReplicasMin': 'x',
        'SlimFaas/ReplicasStartAsSoonAsOneFunctionRetrieveARequest': 'yes',
        'SlimFaas/DefaultVisibility': 'Hidden',
        'SlimFaas/DefaultTrust': 'Maybe',
        'SlimFaas/SubscribeEvents': 'Secret:a, Public:',
        'SlimFaas/PathsStartWithVisibility': 'Internal:/x',
        'SlimFaas/Schedule': '{"TimeZoneID":"Mars/Olympus"}',
        'SlimFaas/Configuration': '{"DefaultSync":{"HttpTimeout":0}}',
      },
      'Not_A_Name',
    );
    expect(messages(problems)).toEqual([
      'name: expected a lowercase DNS label (a-z, 0-9, "-", at most 63 characters)',
      'SlimFaas/Function: expected "true", got "false"',
      'SlimFaas/DefaultVisibility: expected Public or Private, got "Hidden"',
      'SlimFaas/ReplicasMin: expected an integer ≥ 0, got "x"',
      'SlimFaas/ReplicasStartAsSoonAsOneFunctionRetrieveARequest: expected true or false, got "yes"',
      'SlimFaas/Schedule: TimeZoneID: expected an IANA time zone such as "Europe/Paris", got "Mars/Olympus"',
      'SlimFaas/SubscribeEvents: unknown prefix "Secret:", expected Public: or Private:',
      'SlimFaas/SubscribeEvents: nothing after "Public:"',
      'SlimFaas/PathsStartWithVisibility: unknown prefix "Internal:", expected Public: or Private:',
      'SlimFaas/DefaultTrust: expected Trusted or Untrusted, got "Maybe"',
      'SlimFaas/Configuration: DefaultSync.HttpTimeout: expected a number > 0 (seconds), got 0',
    ]);
  });

  it('rejects malformed Schedule times and values, with their JSON path', () => {
    const problems = problemsOf({
      'SlimFaas/Schedule': JSON.stringify({
        TimeZoneID: 'Europe/Paris',
        Default: {
          WakeUp: ['7h', '24:00', '07:60', 7],
          ScaleDownTimeout: [{ Time: '07:00', Value: -1 }, { Time: '25:00', Value: 10 }, 'x'],
        },
      }),
    });
    expect(problems.map((p) => p.message)).toEqual([
      'Default.WakeUp[0]: expected a time H:mm or HH:mm, got "7h"',
      'Default.WakeUp[1]: expected a time H:mm or HH:mm, got "24:00"',
      'Default.WakeUp[2]: expected a time H:mm or HH:mm, got "07:60"',
      'Default.WakeUp[3]: expected a time H:mm or HH:mm, got 7',
      'Default.ScaleDownTimeout[0].Value: expected an integer ≥ 0 (seconds), got -1',
      'Default.ScaleDownTimeout[1].Time: expected a time H:mm or HH:mm, got "25:00"',
      'Default.ScaleDownTimeout[2]: expected an object {"Time", "Value"}, got "x"',
    ]);
  });

  it('rejects malformed Configuration values, with their JSON path', () => {
    const problems = problemsOf({
      'SlimFaas/Configuration': JSON.stringify({
        DefaultSync: 'fast',
        DefaultAsync: { HttpTimeout: '30', TimeoutRetries: [1, -2], HttpStatusRetries: [500, 99, 503.5] },
        DefaultPublish: { TimeoutRetries: 3 },
      }),
    });
    expect(problems.map((p) => p.message)).toEqual([
      'DefaultSync: expected an object, got "fast"',
      'DefaultAsync.TimeoutRetries[1]: expected a number ≥ 0 (seconds), got -2',
      'DefaultAsync.HttpStatusRetries[1]: expected an HTTP status code 100–599, got 99',
      'DefaultAsync.HttpStatusRetries[2]: expected an HTTP status code 100–599, got 503.5',
      'DefaultAsync.HttpTimeout: expected a number > 0 (seconds), got "30"',
      'DefaultPublish.TimeoutRetries: expected an array, got 3',
    ]);
  });

  it('rejects invalid JSON and JSON that is not an object', () => {
    const problems = problemsOf({ 'SlimFaas/Schedule': '{"TimeZoneID":', 'SlimFaas/Configuration': '[]' });
    expect(problems.map((p) => p.key)).toEqual(['SlimFaas/Schedule', 'SlimFaas/Configuration']);
    expect(problems[0]?.message).toMatch(/^invalid JSON \(/);
    expect(problems[1]?.message).toBe('expected a JSON object');
  });
});

describe('parseFunctionAnnotations: warnings', () => {
  it('ignores SlimFaas/Scale with a warning: PromQL autoscaling is not supported yet', () => {
    const { warnings } = parseOk({ 'SlimFaas/Scale': '{"ReplicaMax":10}' });
    expect(warnings).toEqual([
      {
        key: 'SlimFaas/Scale',
        value: '{"ReplicaMax":10}',
        message: 'PromQL autoscaling is not supported yet; ignored',
      },
    ]);
  });

  it('suggests the nearest known key for a likely typo', () => {
    const { warnings } = parseOk({
      'SlimFaas/DefaultTrusted': 'Untrusted',
      'slimfaas/replicasmin': '1',
      'SlimFaas/UrlsPathStartWithVisibility': 'Private:/admin',
      'SlimFaas/Whatever': 'x',
    });
    expect(messages(warnings)).toEqual([
      'SlimFaas/DefaultTrusted: unknown annotation, ignored; did you mean SlimFaas/DefaultTrust?',
      'slimfaas/replicasmin: unknown annotation, ignored; did you mean SlimFaas/ReplicasMin?',
      'SlimFaas/UrlsPathStartWithVisibility: unknown annotation, ignored; did you mean SlimFaas/PathsStartWithVisibility?',
      'SlimFaas/Whatever: unknown annotation, ignored',
    ]);
  });

  it('points users of the OLD ExcludeDeploymentsFromVisibilityPrivate to DefaultTrust', () => {
    const { warnings } = parseOk({ 'SlimFaas/ExcludeDeploymentsFromVisibilityPrivate': 'bff' });
    expect(warnings[0]?.message).toContain('SlimFaas/DefaultTrust: Untrusted');
  });

  it('warns about unknown properties in the Configuration and Schedule JSON', () => {
    const { spec, warnings } = parseOk({
      'SlimFaas/Configuration': JSON.stringify({
        DefaultSync: { HttpTimeout: 10, TimeoutRetries: [1] },
        DefaultAsync: { HttpTimeot: 5 },
        Extra: true,
      }),
      'SlimFaas/Schedule': JSON.stringify({
        TimeZoneId: 'Europe/Paris',
        Default: { WakeUp: ['07:00'], ScaleDownTimeout: [{ Time: '07:00', Value: 1, Unit: 's' }] },
      }),
    });
    expect(messages(warnings)).toEqual([
      'SlimFaas/Schedule: unknown property TimeZoneId ignored; did you mean TimeZoneID?',
      'SlimFaas/Schedule: unknown property Default.ScaleDownTimeout[0].Unit ignored',
      'SlimFaas/Configuration: unknown property Extra ignored',
      'SlimFaas/Configuration: unknown property DefaultSync.TimeoutRetries ignored',
      'SlimFaas/Configuration: unknown property DefaultAsync.HttpTimeot ignored; did you mean HttpTimeout?',
    ]);
    expect(spec.schedule?.timeZoneId).toBe('UTC');
    expect(spec.configuration.defaultAsync.httpTimeoutSeconds).toBe(120);
  });

  it('drops a function from its own DependsOn with a warning', () => {
    const { spec, warnings } = parseOk({ 'SlimFaas/DependsOn': 'fib,db' });
    expect(spec.dependsOn).toEqual(['db']);
    expect(warnings.map((w) => w.key)).toEqual(['SlimFaas/DependsOn']);
  });

  it('is absent from a rejected result: problems only', () => {
    const result = parseFunctionAnnotations('fib', { 'SlimFaas/Scale': '{}', 'SlimFaas/ReplicasMin': '-' });
    expect(result).toEqual({
      ok: false,
      problems: [{ key: 'SlimFaas/ReplicasMin', value: '-', message: 'expected an integer ≥ 0, got "-"' }],
    });
  });
});
