/**
 * Istio string patterns compiled once: `abc` exact, `abc*` prefix, `*abc` suffix, `*` any non-empty
 * value. Exact values go in a Set so a long principal list costs one lookup.
 */

export type StringPattern =
  | { readonly exact: string }
  | { readonly prefix: string }
  | { readonly suffix: string }
  | { readonly presence: true };

export function parsePattern(v: string): StringPattern {
  if (v === '*') return { presence: true };
  if (v.startsWith('*')) return { suffix: v.slice(1) };
  if (v.endsWith('*')) return { prefix: v.slice(0, -1) };
  return { exact: v };
}

export class StringMatcher {
  private readonly exact: Set<string> | null;
  private readonly prefixes: readonly string[];
  private readonly suffixes: readonly string[];
  private readonly presence: boolean;
  /** Number of patterns; 0 means "not set" to callers. */
  readonly size: number;

  constructor(patterns: readonly StringPattern[], lowerCase = false) {
    const exact: string[] = [];
    const prefixes: string[] = [];
    const suffixes: string[] = [];
    let presence = false;
    const norm = lowerCase ? (s: string) => s.toLowerCase() : (s: string) => s;
    for (const p of patterns) {
      if ('exact' in p) exact.push(norm(p.exact));
      else if ('prefix' in p) prefixes.push(norm(p.prefix));
      else if ('suffix' in p) suffixes.push(norm(p.suffix));
      else presence = true;
    }
    this.exact = exact.length > 0 ? new Set(exact) : null;
    this.prefixes = prefixes;
    this.suffixes = suffixes;
    this.presence = presence;
    this.size = patterns.length;
  }

  static fromValues(values: readonly string[], lowerCase = false): StringMatcher {
    return new StringMatcher(values.map(parsePattern), lowerCase);
  }

  /** True when `value` is present and matches any pattern. An empty string never matches `*`. */
  matches(value: string | undefined): boolean {
    if (value === undefined) return false;
    if (this.presence && value !== '') return true;
    if (this.exact?.has(value)) return true;
    for (let i = 0; i < this.prefixes.length; i++) if (value.startsWith(this.prefixes[i]!)) return true;
    for (let i = 0; i < this.suffixes.length; i++) if (value.endsWith(this.suffixes[i]!)) return true;
    return false;
  }

  /** True when any of the values matches (list-valued attributes: audiences, list claims). */
  matchesAny(values: readonly string[] | undefined): boolean {
    if (values === undefined) return false;
    for (let i = 0; i < values.length; i++) if (this.matches(values[i])) return true;
    return false;
  }
}
