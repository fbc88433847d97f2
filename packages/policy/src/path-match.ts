/**
 * Request path patterns: exact, `prefix*`, `*suffix`, `*` (non-empty), and Envoy URI templates where a
 * whole segment is `{*}` (one segment: one or more path characters) or `{**}` (zero or more
 * characters including "/"); no operator may follow `{**}`, literal segments may. Templates compile
 * to one anchored RegExp, with Envoy's character classes (RFC 3986 pchar).
 */
import { parsePattern, StringMatcher, type StringPattern } from './string-match.js';

const PCHAR = "a-zA-Z0-9\\-._~%!$&'()+,;:@=";
const LITERAL = new RegExp(`^[${PCHAR}]+$`);

export function isPathTemplate(p: string): boolean {
  return p.includes('{') || p.includes('}');
}

/** Why a template is invalid, or null when it is fine. */
export function pathTemplateError(p: string): string | null {
  if (!p.startsWith('/')) return 'a path template must start with "/"';
  const segments = p.slice(1).split('/');
  let textGlob = false;
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i]!;
    if (seg === '{*}' || seg === '{**}') {
      if (textGlob) return 'no operator may follow "{**}"';
      textGlob = seg === '{**}';
      continue;
    }
    if (/[{}*]/.test(seg))
      return `segment "${seg}" mixes text with an operator; use a whole segment {*} or {**}`;
    if (seg === '' && i !== segments.length - 1) return 'empty segment (double "/")';
    if (seg !== '' && !LITERAL.test(seg)) return `segment "${seg}" has characters not allowed in a path`;
  }
  return null;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export function compileTemplate(p: string): RegExp {
  const parts = p
    .slice(1)
    .split('/')
    .map((seg) => (seg === '{*}' ? `[${PCHAR}]+` : seg === '{**}' ? `[${PCHAR}/]*` : escapeRegExp(seg)));
  return new RegExp(`^/${parts.join('/')}$`);
}

export class PathMatcher {
  private readonly plain: StringMatcher;
  private readonly templates: readonly RegExp[];
  readonly size: number;

  constructor(values: readonly string[]) {
    const plain: StringPattern[] = [];
    const templates: RegExp[] = [];
    for (const v of values) {
      if (isPathTemplate(v) && pathTemplateError(v) === null) templates.push(compileTemplate(v));
      else plain.push(parsePattern(v));
    }
    this.plain = new StringMatcher(plain);
    this.templates = templates;
    this.size = values.length;
  }

  matches(path: string | undefined): boolean {
    if (path === undefined) return false;
    if (this.plain.size > 0 && this.plain.matches(path)) return true;
    for (let i = 0; i < this.templates.length; i++) if (this.templates[i]!.test(path)) return true;
    return false;
  }
}
