/** Kubernetes matchLabels: every listed label must be present with the same value. */
import type { WorkloadSelector } from './types.js';

export function selectorMatches(
  selector: WorkloadSelector | undefined,
  labels: Readonly<Record<string, string>>,
): boolean {
  if (selector === undefined) return true;
  for (const k in selector.matchLabels) if (labels[k] !== selector.matchLabels[k]) return false;
  return true;
}
