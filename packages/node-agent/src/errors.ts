import { WeftError } from '@weft/telemetry/errors';

/** Every code weft-node reports; each is listed in docs/errors.md under "node-agent". */
export const NodeErrorCode = {
  /** Bad configuration (env/argv). */
  Config: 'WEFT_NODE_CONFIG',
  /** A lifecycle message is not valid JSON or misses a field. */
  BadMessage: 'WEFT_NODE_BAD_MESSAGE',
  /** Enrolling a pod failed (namespace, capture rules, listeners or certificate). */
  PodAdd: 'WEFT_NODE_POD_ADD',
  /** A del for a pod the agent does not know (acked as success, reported for diagnosis). */
  UnknownPod: 'WEFT_NODE_UNKNOWN_POD',
  /** The lifecycle socket could not be bound. */
  LifecycleSocket: 'WEFT_NODE_LIFECYCLE_SOCKET',
  /** Outbound: connection to the agent's own ports (15001/15006/15008) refused as a loop. */
  IllegalPort: 'WEFT_NODE_ILLEGAL_PORT',
  /** Outbound: a known service with no healthy endpoint. */
  NoHealthyEndpoint: 'WEFT_NODE_NO_HEALTHY_ENDPOINT',
  /** Outbound: the destination could not be reached (HBONE or passthrough). */
  UpstreamFailed: 'WEFT_NODE_UPSTREAM_FAILED',
  /** Inbound: denied by L4 authorization (HBONE 401 or plaintext close). */
  Denied: 'WEFT_NODE_DENIED',
  /** Inbound: the CONNECT authority is not a workload of this pod. */
  UnknownWorkload: 'WEFT_NODE_UNKNOWN_WORKLOAD',
  /** The pod has no certificate yet (CA unreachable). */
  NoCertificate: 'WEFT_NODE_NO_CERTIFICATE',
} as const;

export type NodeErrorCode = (typeof NodeErrorCode)[keyof typeof NodeErrorCode];

export class NodeAgentError extends WeftError {
  constructor(code: NodeErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(code, message, options.cause === undefined ? undefined : { cause: options.cause });
  }
}
