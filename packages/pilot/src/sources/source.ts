import type { ConfigProblem, KubeObject } from '@weft/config';

/**
 * Where config comes from: a watched directory (embedded mode) or the Kubernetes API. A source keeps its
 * current objects; discovery reads `snapshot()` after `onChange`, so bursts of events coalesce.
 *
 * `onChange(eventAt)` may say when (performance.now()) the latest raw event behind the change happened, when
 * the source did work of its own between that event and the call (a directory rescan re-reading files):
 * the push debounce then counts from the event, not from the end of that work.
 */
export type ChangeListener = (eventAt?: number) => void;

export interface ConfigSource {
  readonly name: string;
  /** Starts reading; resolves once the initial state is loaded (the source is "synced"). */
  start(onChange: ChangeListener): Promise<void>;
  snapshot(): { objects: readonly KubeObject[]; problems: readonly ConfigProblem[] };
  close(): Promise<void>;
}
