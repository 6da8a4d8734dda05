import type { V1Deployment, V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import {
  expandUrlTemplate,
  podFailure,
  podIsReady,
  podPorts,
  podToReplica,
} from '../../../src/orchestrators/kubernetes/pod-mapping.js';
import {
  describeProblems,
  selectorMatches,
  workloadToFunction,
} from '../../../src/orchestrators/kubernetes/workload-mapping.js';

function pod(
  overrides: {
    ready?: boolean;
    ip?: string;
    ports?: number[][];
    deleting?: boolean;
    scheduled?: boolean;
  } = {},
): V1Pod {
  const ready = overrides.ready ?? true;
  const condition = (type: string, value: boolean) => ({ type, status: value ? 'True' : 'False' });
  return {
    metadata: { name: 'fn-abc', ...(overrides.deleting ? { deletionTimestamp: new Date() } : {}) },
    spec: {
      containers: (overrides.ports ?? [[8080]]).map((ports, i) => ({
        name: `c${i}`,
        ports: ports.map((containerPort) => ({ containerPort })),
      })),
    },
    status: {
      podIP: overrides.ip ?? '10.0.0.7',
      conditions:
        overrides.scheduled === false
          ? [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable' }]
          : [condition('PodScheduled', true), condition('ContainersReady', ready), condition('Ready', ready)],
      containerStatuses: [{ name: 'c0', image: 'x', imageID: 'x', ready, restartCount: 0, started: true }],
    },
  };
}

describe('expandUrlTemplate', () => {
  const values = { podIp: '10.0.0.7', ports: [8080, 9090], functionName: 'fib', namespace: 'apps' };
  it('expands every SlimFaas placeholder', () => {
    expect(expandUrlTemplate('http://{pod_ip}:{pod_port}', values)).toBe('http://10.0.0.7:8080');
    expect(expandUrlTemplate('http://{pod_ip}:{pod_port_1}/', values)).toBe('http://10.0.0.7:9090');
    expect(expandUrlTemplate('http://{function_name}.{namespace}.svc:8080', values)).toBe(
      'http://fib.apps.svc:8080',
    );
  });
  it('is undefined while a placeholder has no value', () => {
    expect(expandUrlTemplate('http://{pod_ip}:{pod_port}', { ...values, podIp: undefined })).toBeUndefined();
    expect(expandUrlTemplate('http://{pod_ip}:{pod_port_2}', values)).toBeUndefined();
    expect(expandUrlTemplate('http://{pod_ip}:{pod_port}', { ...values, ports: [] })).toBeUndefined();
  });
});

describe('pod mapping', () => {
  it('collects every containerPort > 0 of every container', () => {
    expect(podPorts(pod({ ports: [[8080, 0], [9090]] }))).toEqual([8080, 9090]);
  });
  it('is ready only when started, ContainersReady and Ready, and not terminating', () => {
    expect(podIsReady(pod())).toBe(true);
    expect(podIsReady(pod({ ready: false }))).toBe(false);
    expect(podIsReady(pod({ deleting: true }))).toBe(false);
  });
  it('reports PodScheduled=False as unschedulable and a waiting reason as the failure', () => {
    expect(podFailure(pod({ scheduled: false }))).toEqual({ reason: 'Unschedulable', unschedulable: true });
    const crashing = pod({ ready: false });
    crashing.status?.containerStatuses?.forEach(
      (s) => (s.state = { waiting: { reason: 'CrashLoopBackOff' } }),
    );
    expect(podFailure(crashing)).toEqual({ reason: 'CrashLoopBackOff', unschedulable: false });
    const creating = pod({ ready: false });
    creating.status?.containerStatuses?.forEach(
      (s) => (s.state = { waiting: { reason: 'ContainerCreating' } }),
    );
    expect(podFailure(creating).reason).toBeUndefined();
  });
  it('maps a pod to a replica with its origin, and an unreachable one to an empty origin, not ready', () => {
    const context = { urlTemplate: 'http://{pod_ip}:{pod_port}', functionName: 'fn', namespace: 'default' };
    expect(podToReplica(pod(), context)).toEqual({
      id: 'fn-abc',
      origin: 'http://10.0.0.7:8080',
      ip: '10.0.0.7',
      ready: true,
      failureReason: undefined,
      unschedulable: undefined,
    });
    expect(podToReplica(pod({ ports: [[]] }), context)).toMatchObject({ origin: '', ready: false });
  });

  it('gives each pod its own event origin from BASE_FUNCTION_POD_URL when it differs from BASE_FUNCTION_URL', () => {
    const context = {
      urlTemplate: 'http://{function_name}.{namespace}.svc:8080',
      podUrlTemplate: 'http://{pod_ip}:{pod_port}',
      functionName: 'fn',
      namespace: 'default',
    };
    expect(podToReplica(pod(), context)).toMatchObject({
      origin: 'http://fn.default.svc:8080',
      podOrigin: 'http://10.0.0.7:8080',
    });
    const same = { ...context, podUrlTemplate: context.urlTemplate };
    expect(podToReplica(pod(), same).podOrigin).toBeUndefined();
  });
});

describe('workload mapping', () => {
  const deployment = (annotations: Record<string, string>, replicas?: number): V1Deployment => ({
    metadata: { name: 'fib', annotations: { 'SlimFaas/Function': 'false' } },
    spec: {
      ...(replicas === undefined ? {} : { replicas }),
      selector: { matchLabels: { app: 'fib' } },
      template: { metadata: { annotations } },
    },
  });
  it('reads annotations from the pod template, not the Deployment', () => {
    expect(workloadToFunction(deployment({}), 'Deployment')).toEqual({ kind: 'not-a-function' });
    const read = workloadToFunction(
      deployment({ 'SlimFaas/Function': 'TRUE', 'SlimFaas/ReplicasMin': '2' }, 3),
      'Deployment',
    );
    expect(read).toMatchObject({
      kind: 'function',
      podType: 'Deployment',
      replicas: 3,
      spec: { name: 'fib', replicasMin: 2 },
    });
  });
  it('defaults spec.replicas to 1 as Kubernetes does', () => {
    expect(workloadToFunction(deployment({ 'SlimFaas/Function': 'true' }), 'Deployment')).toMatchObject({
      replicas: 1,
    });
  });
  it('returns the problems of an invalid annotation, described on one line', () => {
    const read = workloadToFunction(
      deployment({ 'SlimFaas/Function': 'true', 'SlimFaas/ReplicasMin': '-1' }),
      'Deployment',
    );
    expect(read.kind).toBe('invalid');
    if (read.kind !== 'invalid') return;
    const line = describeProblems('fib', read.problems);
    expect(line).toContain('fib');
    expect(line).toContain('SlimFaas/ReplicasMin="-1"');
    expect(line).not.toContain('\n');
  });
  it('matches labels with matchLabels and matchExpressions, and an empty selector matches nothing', () => {
    expect(selectorMatches({ matchLabels: { app: 'fib' } }, { app: 'fib', x: '1' })).toBe(true);
    expect(selectorMatches({ matchLabels: { app: 'fib' } }, { app: 'fibonacci' })).toBe(false);
    const expressions = {
      matchExpressions: [
        { key: 'tier', operator: 'In', values: ['a', 'b'] },
        { key: 'canary', operator: 'DoesNotExist' },
        { key: 'app', operator: 'Exists' },
        { key: 'zone', operator: 'NotIn', values: ['z'] },
      ],
    };
    expect(selectorMatches(expressions, { tier: 'a', app: 'x' })).toBe(true);
    expect(selectorMatches(expressions, { tier: 'c', app: 'x' })).toBe(false);
    expect(selectorMatches(expressions, { tier: 'a', app: 'x', canary: '' })).toBe(false);
    expect(selectorMatches(expressions, { tier: 'a', app: 'x', zone: 'z' })).toBe(false);
    expect(selectorMatches({}, { app: 'fib' })).toBe(false);
  });
});
