export {
  FAKE_KUBE_RESOURCES,
  FakeKubeApi,
  type FakeKubeApiOptions,
  type FakeKubeRequest,
  type FakeKubeResource,
} from './fake-kube-api.js';
export { type IssueOptions, TestCa, type TestCredential } from './pki.js';
export { freePort, waitFor } from './ports.js';
export { type App, type Readiness, type SpawnAppOptions, spawnApp } from './process.js';
export { commandsSkipReason, hasCommand, missingCommands, rootSkipReason } from './system.js';
export {
  createTopology,
  type NodeSpec,
  type PodSpec,
  sweepStaleNamespaces,
  Topology,
  type TopologyNode,
  type TopologyPod,
  type TopologySpec,
} from './topology.js';
