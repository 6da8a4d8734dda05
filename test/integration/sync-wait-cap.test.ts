import { describe, expect, it } from 'vitest';
import { startAppStack } from '../helpers/app-stack.js';
import { testFunctionSpec } from '../helpers/test-function-spec.js';

describe('TIME_MAXIMUM_WAIT_FOR_AT_LEAST_ONE_POD_STARTED_FOR_SYNC_FUNCTION', () => {
  it('ends the wait for a ready replica at the global cap when it is below DefaultSync.HttpTimeout', async () => {
    // HttpTimeout stays at its default (120 s): without the cap this request would outlive the test.
    const stack = await startAppStack([testFunctionSpec('never-ready')], {
      autoReady: false,
      maxWaitForReplicaMs: 300,
    });
    try {
      const response = await fetch(`${stack.url}/function/never-ready/x`);
      expect(response.status).toBe(504);
      const body = (await response.json()) as { error: string; message: string };
      expect(body.error).toBe('no_ready_replica');
      expect(body.message).toContain('within 300 ms');
    } finally {
      await stack.close();
    }
  }, 20_000);

  it('keeps the function HttpTimeout when it is the smaller of the two', async () => {
    const base = testFunctionSpec('short');
    const spec = testFunctionSpec('short', {
      configuration: { ...base.configuration, defaultSync: { httpTimeoutSeconds: 1 } },
    });
    const stack = await startAppStack([spec], { autoReady: false, maxWaitForReplicaMs: 60_000 });
    try {
      const response = await fetch(`${stack.url}/function/short/x`);
      expect(response.status).toBe(504);
      expect(((await response.json()) as { message: string }).message).toContain('within 1000 ms');
    } finally {
      await stack.close();
    }
  }, 20_000);
});
