/**
 * Ocean accepts single-quoted string literals in mappings (`.x // ''`) by rewriting them to double quotes before jq
 * compiles them; jq itself has no single-quoted strings. Done the same way here so Ocean configs load unchanged.
 * Double-quoted strings (with escapes and `\(…)` interpolation) are left as they are.
 */
export function normalizeQuotes(expr: string): string {
  if (!expr.includes("'")) return expr;
  let out = '';
  let i = 0;
  while (i < expr.length) {
    const c = expr[i]!;
    if (c === '"') {
      const end = endOfDoubleQuoted(expr, i);
      out += expr.slice(i, end);
      i = end;
    } else if (c === "'") {
      const close = expr.indexOf("'", i + 1);
      if (close < 0) return out + expr.slice(i); // unbalanced: let jq report it
      out += JSON.stringify(expr.slice(i + 1, close));
      i = close + 1;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

/** Index just past the double-quoted string (with any `\(…)` interpolations) that opens at `start`. */
export function endOfDoubleQuoted(s: string, start: number): number {
  let depth = 0; // nesting of \( … ) interpolations, which may themselves contain strings
  for (let i = start + 1; i < s.length; i++) {
    const c = s[i]!;
    if (depth === 0) {
      if (c === '\\') {
        if (s[i + 1] === '(') {
          depth = 1;
          i++;
        } else i++;
      } else if (c === '"') return i + 1;
    } else if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === '"') i = endOfDoubleQuoted(s, i) - 1;
  }
  return s.length;
}
