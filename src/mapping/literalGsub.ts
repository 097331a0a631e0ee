import { rewriteOutsideStrings } from './quotes.js';

/**
 * jq 1.6 runs `gsub` through its regex engine and a jq-defined loop: 5 µs per call when nothing matches, 19 µs when
 * something does. Mappings mostly call it with a plain literal (`gsub(" "; "")`), which `split`/`join` do for 1–3 µs.
 * Such calls are rewritten in the program jq runs, under a type guard so that anything but a string still reaches the
 * real `gsub` and fails with its own message. Patterns with a regex metacharacter or an escape, replacements that
 * interpolate (they may read the captures), and expressions that define functions (they may redefine the builtins
 * used) are left alone.
 */
export function rewriteLiteralGsub(expr: string): string {
  if (!expr.includes('gsub') || /(^|[^\w$])def\s/.test(expr)) return expr;
  return rewriteOutsideStrings(expr, (text, i) => {
    if (text[i] === '#') {
      const nl = text.indexOf('\n', i);
      const end = nl < 0 ? text.length : nl;
      return { text: text.slice(i, end), length: end - i }; // a comment, copied as it is
    }
    if (text[i] !== 'g' || /[\w$.:@]/.test(text[i - 1] ?? ' ')) return undefined;
    const call = LITERAL_GSUB.exec(text.slice(i));
    if (!call || !isPlainPattern(call[1]!) || call[2]!.includes('\\(')) return undefined;
    return { text: splitJoin(`"${call[1]!}"`, `"${call[2]!}"`), length: call[0].length };
  });
}

/** `gsub("pattern"; "replacement")` at the start of the text; the replacement may hold escapes. */
const LITERAL_GSUB = /^gsub\s*\(\s*"([^"\\]*)"\s*;\s*"((?:[^"\\]|\\.)*)"\s*\)/;

/** Non-empty and free of Oniguruma metacharacters, so the regex matches exactly the literal text. */
function isPlainPattern(p: string): boolean {
  return p.length > 0 && !/[.^$|()[\]{}*+?\\]/.test(p);
}

function splitJoin(pattern: string, replacement: string): string {
  return (
    `(if type == "string" then (split(${pattern}) | if length == 1 then .[0] ` +
    `elif length == 2 then .[0] + ${replacement} + .[1] else join(${replacement}) end) ` +
    `else gsub(${pattern}; ${replacement}) end)`
  );
}
