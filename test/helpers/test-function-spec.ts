import { DEFAULT_CONFIGURATION, type FunctionSpec } from '../../src/core/function-spec.js';

/** A valid FunctionSpec with SlimFaas's defaults (reference §2), for tests. */
export function testFunctionSpec(name: string, overrides: Partial<FunctionSpec> = {}): FunctionSpec {
  return Object.freeze({
    name,
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
    ...overrides,
  });
}
