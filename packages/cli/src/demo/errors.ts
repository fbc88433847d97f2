import { WeftError } from '@weft/telemetry/errors';

/** Stable codes of `weftctl demo`; each is listed under `## demo` in docs/errors.md. */
export const DemoErrorCode = {
  /** Not root / not Linux: network namespaces and capture rules cannot be made. */
  NeedsRoot: 'WEFT_DEMO_NEEDS_ROOT',
  /** A system command the demo runs (ip, iptables, curl, /usr/bin/python3 + httpbin) is missing. */
  MissingTool: 'WEFT_DEMO_MISSING_TOOL',
  /** A Weft component the demo starts (pilot, node agent, waypoint) is not there or does not start. */
  ComponentMissing: 'WEFT_DEMO_COMPONENT_MISSING',
  /** A process started but did not become ready in time. */
  NotReady: 'WEFT_DEMO_NOT_READY',
  /** A port the demo binds on 127.0.0.1 is taken by something else. */
  PortInUse: 'WEFT_DEMO_PORT_IN_USE',
  /** The embedded config (deploy/examples/demo) could not be read or lacks what the demo needs. */
  Config: 'WEFT_DEMO_CONFIG',
  /** A node agent refused a pod on its lifecycle socket. */
  PodRejected: 'WEFT_DEMO_POD_REJECTED',
  /** The command needs a running demo and there is none. */
  NotRunning: 'WEFT_DEMO_NOT_RUNNING',
  /** No pod (or tour policy, or token kind) by that name. */
  Unknown: 'WEFT_DEMO_UNKNOWN',
  /** Building the demo's network namespaces failed. */
  Network: 'WEFT_DEMO_NETWORK',
  /** The demo's state file is unreadable (run `weftctl demo down`, which also sweeps by name). */
  State: 'WEFT_DEMO_STATE',
} as const;
export type DemoErrorCode = (typeof DemoErrorCode)[keyof typeof DemoErrorCode];

export class DemoError extends WeftError {
  constructor(
    code: DemoErrorCode,
    message: string,
    options?: { cause?: unknown; details?: Record<string, unknown> },
  ) {
    super(code, message, options);
  }
}
