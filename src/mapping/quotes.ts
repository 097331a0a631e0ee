/**
 * Ocean accepts single-quoted string literals in mappings (`.x // ''`) by rewriting them to double quotes before jq
 * compiles them; jq itself has no single-quoted strings. Done the same way here so Ocean configs load unchanged.
 * Double-quoted strings (with escapes and `\(…)` interpolation) are left as they are.
 */
export function normalizeQuotes(expr: string): string {
  if (!expr.includes("'")) return expr;
  return rewriteOutsideStrings(expr, (text, i) => {
    if (text[i] !== "'") return undefined;
    const close = text.indexOf("'", i + 1);
    if (close < 0) return { text: text.slice(i), length: text.length - i }; // unbalanced: let jq report it
    return { text: JSON.stringify(text.slice(i + 1, close)), length: close + 1 - i };
  });
}

/**
 * Copies a jq expression, keeping double-quoted strings as they are and offering every other position to `at`, which
 * may replace the text starting there: it returns the replacement and how many characters that replaces.
 */
export function rewriteOutsideStrings(expr: string, at: (expr: string, i: number) => { text: string; length: number } | undefined): string {
  let out = '';
  let i = 0;
  while (i < expr.length) {
    if (expr[i] === '"') {
      const end = endOfDoubleQuoted(expr, i);
      out += expr.slice(i, end);
      i = end;
      continue;
    }
    const r = at(expr, i);
    if (r) {
      out += r.text;
      i += r.length;
    } else {
      out += expr[i];
      i++;
    }
  }
  return out;
}

function endOfDoubleQuoted(s: string, start: number): number {
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
