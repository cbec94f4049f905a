// Route matching (docs/gateway.md "Routes"): an ordered list, first match wins. Pattern segments are
// literals, `*` (exactly one segment) or `**` (the rest of the path, including nothing; only last).
// Patterns arrive compiled by config/ into the canonical form request paths take
// (src/config/route-rules.ts), so matching compares segments and nothing else.
import type { PatternSegment } from './model.js';

export interface MatchableRoute {
  pattern: readonly PatternSegment[];
  /** Upper-case methods, HEAD implied by GET; undefined = every method. */
  methods?: ReadonlySet<string>;
}

/** First route whose pattern matches the canonical segments (and method), or undefined. */
export function matchRoute<R extends MatchableRoute>(table: readonly R[], segments: readonly string[], method: string): R | undefined {
  for (const entry of table) {
    if (entry.methods && !entry.methods.has(method)) continue;
    if (patternMatches(entry.pattern, segments)) return entry;
  }
  return undefined;
}

function patternMatches(pattern: readonly PatternSegment[], segments: readonly string[]): boolean {
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i];
    if (p.kind === 'rest') return true;
    if (i >= segments.length) return false;
    if (p.kind === 'literal' && p.text !== segments[i]) return false;
  }
  return pattern.length === segments.length;
}
