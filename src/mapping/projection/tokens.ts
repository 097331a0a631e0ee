/**
 * The jq tokenizer of the projection analysis: just enough of jq's lexical grammar to see every key an expression
 * names, every builtin it calls and every construct that reads its input. Anything it does not recognise throws
 * Unsure (the analysis then sends whole items).
 */

/** A jq token; strings carry their literal text and their interpolations as nested token lists. */
export type Token =
  | { t: 'dot' } // a bare `.`
  | { t: 'recurse' } // `..`
  | { t: 'field'; name: string } // `.name`
  | { t: 'str'; literal: string; interpolations: Token[][] }
  | { t: 'ident'; name: string }
  | { t: 'kw'; name: string }
  | { t: 'var'; name: string }
  | { t: 'fmt'; name: string }
  | { t: 'num' }
  | { t: 'op'; v: string };

/** Thrown wherever the analysis cannot be sure; caught by analyseProjection, which then answers "send whole items". */
export class Unsure extends Error {}

const KEYWORDS = new Set([
  'def', 'if', 'then', 'elif', 'else', 'end', 'as', 'reduce', 'foreach', 'try', 'catch', 'label', 'import', 'include',
  'and', 'or', '__loc__', 'break',
]);

const OPERATORS = ['?//', '//=', '|=', '+=', '-=', '*=', '/=', '%=', '==', '!=', '<=', '>=', '//', '|', ',', '=', '<', '>', '+', '-', '*', '/', '%', '?', ':', ';', '(', ')', '[', ']', '{', '}'];

/** The tokens of one expression; throws Unsure on anything the tokenizer does not know or an unterminated string. */
export function tokenize(src: string): Token[] {
  const [tokens, end] = tokenizeFrom(src, 0, false);
  if (end !== src.length) throw new Unsure();
  return tokens;
}

/** Tokens from `pos`; inside an interpolation, stops at the `)` that closes it and returns the index after it. */
function tokenizeFrom(src: string, pos: number, inInterpolation: boolean): [Token[], number] {
  const out: Token[] = [];
  let depth = 0;
  let i = pos;
  const isIdentStart = (c: string | undefined) => c !== undefined && /[A-Za-z_]/.test(c);
  const identAt = (j: number) => {
    IDENT.lastIndex = j;
    return IDENT.exec(src)?.[0];
  };
  while (i < src.length) {
    const c = src[i]!;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++;
    } else if (c === '#') {
      const nl = src.indexOf('\n', i);
      const comment = src.slice(i, nl < 0 ? src.length : nl);
      // jq 1.7 continues a comment after a trailing backslash; do not guess which jq runs.
      if (/\\\r?$/.test(comment)) throw new Unsure();
      i = nl < 0 ? src.length : nl + 1;
    } else if (c === '"') {
      const [tok, end] = readString(src, i);
      out.push(tok);
      i = end;
    } else if (c === '.') {
      if (src[i + 1] === '.') {
        out.push({ t: 'recurse' });
        i += 2;
      } else if (isIdentStart(src[i + 1])) {
        const name = identAt(i + 1)!;
        out.push({ t: 'field', name });
        i += 1 + name.length;
      } else if (/[0-9]/.test(src[i + 1] ?? '')) {
        i = readNumber(src, i);
        out.push({ t: 'num' });
      } else {
        out.push({ t: 'dot' });
        i++;
      }
    } else if (/[0-9]/.test(c)) {
      i = readNumber(src, i);
      out.push({ t: 'num' });
    } else if (isIdentStart(c)) {
      const name = identAt(i)!;
      i += name.length;
      if (src.startsWith('::', i)) throw new Unsure(); // module-qualified names
      out.push(KEYWORDS.has(name) ? { t: 'kw', name } : { t: 'ident', name });
    } else if (c === '$') {
      const name = identAt(i + 1);
      if (!name) throw new Unsure();
      out.push({ t: 'var', name });
      i += 1 + name.length;
    } else if (c === '@') {
      FORMAT.lastIndex = i + 1;
      const name = FORMAT.exec(src)?.[0];
      if (!name) throw new Unsure();
      out.push({ t: 'fmt', name });
      i += 1 + name.length;
    } else {
      const op = OPERATORS.find((o) => src.startsWith(o, i));
      if (!op) throw new Unsure();
      if (inInterpolation && op === '(') depth++;
      if (inInterpolation && op === ')') {
        if (depth === 0) return [out, i + 1];
        depth--;
      }
      out.push({ t: 'op', v: op });
      i += op.length;
    }
  }
  if (inInterpolation) throw new Unsure(); // unterminated
  return [out, i];
}

const IDENT = /[A-Za-z_][A-Za-z_0-9]*/y;
const FORMAT = /[A-Za-z0-9_]+/y;
const NUMBER = /(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?/y;

function readNumber(src: string, i: number): number {
  NUMBER.lastIndex = i;
  return i + NUMBER.exec(src)![0].length;
}

/** A double-quoted string from `start` (the quote): its literal text (interpolations removed) and interpolations. */
function readString(src: string, start: number): [Token, number] {
  let raw = '';
  const literal: string[] = [];
  const interpolations: Token[][] = [];
  let i = start + 1;
  while (i < src.length) {
    const c = src[i]!;
    if (c === '"') {
      literal.push(decode(raw));
      return [{ t: 'str', literal: literal.join(''), interpolations }, i + 1];
    }
    if (c === '\\') {
      if (src[i + 1] === '(') {
        literal.push(decode(raw));
        raw = '';
        const [tokens, end] = tokenizeFrom(src, i + 2, true);
        interpolations.push(tokens);
        i = end;
        continue;
      }
      raw += src.slice(i, i + 2);
      i += 2;
      continue;
    }
    raw += c;
    i++;
  }
  throw new Unsure(); // unterminated
}

/** jq's string escapes are JSON's; raw control characters are allowed in jq strings, so escape them for JSON.parse. */
function decode(raw: string): string {
  // eslint-disable-next-line no-control-regex
  const json = raw.replace(/[\u0000-\u001f]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);
  try {
    return JSON.parse(`"${json}"`) as string;
  } catch {
    throw new Unsure();
  }
}
