import type { V1Job, V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import {
  buildJobManifest,
  configNameOf,
  isValidRunName,
  msToTicks,
} from '../../../src/orchestrators/kubernetes/job-manifest.js';
import { jobRunState, liveIps } from '../../../src/orchestrators/kubernetes/job-status.js';

function job(status: V1Job['status']): V1Job {
  return {
    metadata: { name: 'fib-slimfaas-job-abc', labels: { 'slimfaas-job-element-id': 'e1' } },
    status,
  };
}

function pod(phase: string, ip: string): V1Pod {
  return { metadata: { name: `p-${ip}` }, status: { phase, podIP: ip, podIPs: [{ ip }] } };
}

describe('job status mapping', () => {
  it('is pending before a pod is active, running while one is or a retry is due', () => {
    expect(jobRunState(job({}), []).phase).toBe('pending');
    expect(jobRunState(job({ active: 1 }), []).phase).toBe('running');
    expect(jobRunState(job({ active: 0, failed: 1 }), []).phase).toBe('running');
  });

  it('reads the outcome from the conditions, with their times as strings (watch) or Dates (list)', () => {
    const failed = jobRunState(
      job({
        failed: 2,
        startTime: '2026-11-26T10:00:00Z' as unknown as Date,
        conditions: [
          {
            type: 'Failed',
            status: 'True',
            reason: 'BackoffLimitExceeded',
            message: 'Job has reached the specified backoff limit',
            lastTransitionTime: '2026-11-26T10:01:00Z' as unknown as Date,
          },
        ],
      }),
      [],
    );
    expect(failed).toMatchObject({
      phase: 'failed',
      attempts: 2,
      reason: 'BackoffLimitExceeded: Job has reached the specified backoff limit',
      startedAtMs: Date.UTC(2026, 10, 26, 10, 0, 0),
      finishedAtMs: Date.UTC(2026, 10, 26, 10, 1, 0),
      configName: 'fib',
      elementId: 'e1',
    });
    const done = jobRunState(
      job({
        succeeded: 1,
        completionTime: new Date(Date.UTC(2026, 10, 26, 10, 2, 0)),
        conditions: [{ type: 'Complete', status: 'True' }],
      }),
      [],
    );
    expect(done).toMatchObject({ phase: 'succeeded', finishedAtMs: Date.UTC(2026, 10, 26, 10, 2, 0) });
    expect(done.reason).toBeUndefined();
    const notYet = jobRunState(job({ active: 1, conditions: [{ type: 'Complete', status: 'False' }] }), []);
    expect(notYet.phase).toBe('running');
  });

  it("trusts only the IPs of a job's pods that have not finished", () => {
    expect(
      liveIps([pod('Running', '10.0.0.2'), pod('Pending', '10.0.0.1'), pod('Failed', '10.0.0.3')]),
    ).toEqual(['10.0.0.1', '10.0.0.2']);
    expect(liveIps([pod('Succeeded', '10.0.0.4')])).toEqual([]);
  });
});

describe('job manifest', () => {
  it('writes timestamps as .NET UTC ticks, as SlimFaas does', () => {
    expect(msToTicks(0)).toBe('621355968000000000');
    expect(msToTicks(Date.UTC(2026, 10, 26, 12, 0, 0))).toBe('639312912000000000');
  });

  it('splits the configuration name off a run name and validates run names', () => {
    expect(configNameOf('my-job-slimfaas-job-abc12345')).toBe('my-job');
    expect(isValidRunName('my-job-slimfaas-job-abc12345')).toBe(true);
    expect(isValidRunName('my_job-slimfaas-job-abc12345')).toBe(false);
    expect(isValidRunName('-a')).toBe(false);
    expect(isValidRunName('a'.repeat(64))).toBe(false);
  });

  it('names the container after the configuration, made a valid container name', () => {
    const manifest = buildJobManifest(
      {
        configName: 'My_Job',
        runName: 'x-slimfaas-job-abc',
        elementId: 'e',
        image: 'i',
        args: [],
        environment: {},
        backoffLimit: 0,
        ttlSecondsAfterFinished: 0,
        restartPolicy: 'Never',
        createdAtMs: 0,
      },
      { namespace: 'ns', nowMs: 0 },
    );
    const container = manifest.spec?.template.spec?.containers[0];
    expect(container?.name).toBe('my-job');
    expect(container?.resources).toEqual({});
  });
});
