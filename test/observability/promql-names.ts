// Extracts the metric names a PromQL expression reads, without a full parser: label matchers, ranges,
// strings, grouping clauses, function calls, keywords and numbers are removed, and what remains are
// metric names. Good enough for the expressions in deploy/ (tested against known names).
const KEYWORDS = new Set([
  'and',
  'or',
  'unless',
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'bool',
  'offset',
  'inf',
  'nan',
]);

export function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, ' ')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\$[a-zA-Z_]+/g, ' ');
  const names = new Set<string>();
  for (const m of stripped.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?/g)) {
    const [, word, call] = m;
    if (call || KEYWORDS.has(word!.toLowerCase()) || /^\d/.test(word!)) continue;
    names.add(word!);
  }
  return [...names];
}

/** Histogram series suffixes and the family type they imply. */
export function familyOf(
  name: string,
  types: Map<string, string>,
): { family: string; type: string } | undefined {
  if (types.has(name)) return { family: name, type: types.get(name)! };
  const m = /^(.*)_(bucket|sum|count)$/.exec(name);
  if (m && ['histogram', 'summary'].includes(types.get(m[1]!) ?? ''))
    return { family: m[1]!, type: types.get(m[1]!)! };
  return undefined;
}
