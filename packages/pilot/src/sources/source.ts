import type { ConfigProblem, KubeObject } from '@weft/config';

/**
 * Where config comes from: a watched directory (embedded mode) or the Kubernetes API. A source keeps its
 * current objects; discovery reads `snapshot()` after `onChange`, so bursts of events coalesce.
 */
export interface ConfigSource {
  readonly name: string;
  /** Starts reading; resolves once the initial state is loaded (the source is "synced"). */
  start(onChange: () => void): Promise<void>;
  snapshot(): { objects: readonly KubeObject[]; problems: readonly ConfigProblem[] };
  close(): Promise<void>;
}
