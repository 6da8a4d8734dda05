import { describe, expect, it } from 'vitest';
import { replicatedCasWarning } from '../../../src/stores/nats/nats-connection.js';

describe('replicatedCasWarning', () => {
  it('warns for replicated buckets on servers before 2.9.21', () => {
    for (const version of ['2.9.10', '2.9.20', '2.8.4']) {
      expect(replicatedCasWarning(version, 3)).toContain(`nats-server ${version} with 3 replicas`);
    }
  });

  it('stays quiet from 2.9.21 on, on one replica, and when the version is unknown', () => {
    for (const version of ['2.9.21', '2.9.25', '2.10.0', '2.11.3-beta']) {
      expect(replicatedCasWarning(version, 3)).toBeUndefined();
    }
    expect(replicatedCasWarning('2.9.10', 1)).toBeUndefined();
    expect(replicatedCasWarning(undefined, 3)).toBeUndefined();
  });
});
