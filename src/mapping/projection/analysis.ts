/**
 * The static analysis behind input projection (project.ts): which parts of an item a resource's jq expressions can
 * read. It is deliberately conservative: `undefined` means "unsure, send whole items".
 *
 * Soundness argument. Call a value *derived* if it is the same whether jq got the whole item X or its projection P (X
 * restricted to the key set K). Every literal key an expression mentions (identifier, `.field`, string literal, object
 * key) goes into K, so `.k`, `."k"` and `.["k"]` on X and on P give the same value. Every position in an expression has
 * an input that is either *possibly the item* or certainly derived:
 * - the top level, and everything whose input is the same as its enclosing construct's input (operands, array and
 *   object contents, call arguments, `if` branches, interpolations, the body after `E as $x |` or `label $x |`), is
 *   possibly the item;
 * - after a plain `|` the input is the output of the left side, which is derived because, where the input is possibly
 *   the item, only these are allowed: literal-key indexing, constants, `$vars` (bound only from checked expressions),
 *   operators, `if`/`try`/`reduce`/`foreach`/`label`, and builtins that, given any object, output nothing and raise
 *   no message that depends on the object's content (checked against the real jq in the tests). Rejected there: a bare
 *   `.` (except `."k"`, `.["k"]`), `..`, `.[…]`, `@format` not followed by a string, assignments (they output the
 *   modified item), dynamic object shorthand (`{"\(…)"}`), and every other builtin or user function;
 * - where the input is derived, anything goes, except what reads other inputs or changes the language: `input`,
 *   `inputs`, `$__prog_args`, `def`, `import`, `include`, `?//` and destructuring patterns are rejected everywhere.
 * Error messages matter too (a field's error reaches the report), which is why `test`, `sub`, `tonumber`, `floor`,
 * and the like are not allowed on a possible item: jq prints the start of the offending value in their errors.
 *
 * One level deeper: where the input may be the item, every read of it is a literal-key read (a `.k` that does not
 * follow a term, `."k"`, `.["k"]`, `{k}`). When every such read of k is immediately followed by `.j` or `."j"` (`.k.j`)
 * or by `[].j` (`.k[].j`, `?` allowed), jq gets only those j: of k's value when it is an object read as `.k.j`; of each
 * element (or each value of an object, in order) read as `.k[].j`; an array read as `.k.j` fails the same whatever it
 * holds. Any other read (`.k`, `.k | …`, `.k[0]`, `{k}`, both `.k.j` and `.k[].j` on an object) keeps k whole.
 * A `.j` after a term (`(…).j`, `$x.j`, `.a.j`, `….j?`) is not a read of the input; everything else is counted as one,
 * which can only keep more.
 */
import type { Projection } from './project.js';
import { Unsure, tokenize, type Token } from './tokens.js';

/**
 * Builtins allowed where the input may be the item, with their allowed arities. Each gives, for any object input,
 * the same outputs and the same error message whatever the object holds (arguments are checked like any expression).
 * Not here because jq puts the start of the input in their error message: test, match, capture, scan, split/2, sub,
 * gsub, splits, tonumber, floor, ceil, round and the other maths; because they pass their input through or expose it:
 * select, ltrimstr, rtrimstr, tostring, tojson, length, keys, has, to_entries, paths, getpath, error/0, @format, ….
 */
export const ITEM_SAFE_BUILTINS: ReadonlyMap<string, readonly number[]> = new Map<string, number[]>([
  ['true', [0]], ['false', [0]], ['null', [0]], ['empty', [0]], ['not', [0]], ['type', [0]],
  ['now', [0]], ['env', [0]], ['nan', [0]], ['infinite', [0]],
  ['first', [0, 1]], ['last', [0, 1]], ['limit', [2]], ['isempty', [1]], ['range', [1, 2]], ['error', [1]],
  ['startswith', [1]], ['endswith', [1]], ['split', [1]], ['ascii_downcase', [0]], ['ascii_upcase', [0]],
  ['mktime', [0]], ['gmtime', [0]], ['localtime', [0]], ['strftime', [1]], ['strptime', [1]],
  ['todate', [0]], ['fromdate', [0]], ['todateiso8601', [0]], ['fromdateiso8601', [0]],
]);

/** Read other inputs than the item being mapped: never allowed, whatever their input. */
const FORBIDDEN = new Set(['input', 'inputs']);

const ASSIGNMENTS = new Set(['=', '|=', '+=', '-=', '*=', '/=', '%=', '//=']);

/** How the item's key k is read: only through `.k.j` / `.k[].j`, or also some other way (whole). */
interface Access {
  whole: boolean;
  fields: Set<string>;
  elements: Set<string>;
}

interface State {
  keys: Set<string>;
  access: Map<string, Access>;
}

/**
 * What of each item the expressions can read, or undefined when the analysis cannot prove that sending only that
 * leaves every output unchanged. Expressions are the ones jq runs (after quote normalisation).
 */
export function analyseProjection(expressions: readonly string[]): Projection | undefined {
  const state: State = { keys: new Set(), access: new Map() };
  try {
    for (const expr of expressions) analyse(tokenize(expr), true, state);
  } catch (err) {
    if (err instanceof Unsure) return undefined;
    throw err;
  }
  for (const k of state.keys) {
    // jq turns lone surrogates into U+FFFD when it parses the item; such keys cannot be matched reliably here.
    if (k.includes('\uFFFD') || /[\uD800-\uDFFF]/.test(k.replace(/[\uD800-\uDBFF][\uDC00-\uDFFF]/g, ''))) return undefined;
  }
  const nested = new Map<string, { fields: ReadonlySet<string>; elements: ReadonlySet<string> }>();
  for (const [k, a] of state.access) if (!a.whole) nested.set(k, { fields: a.fields, elements: a.elements });
  return { keys: state.keys, nested };
}

/** The top-level keys of analyseProjection, or undefined. */
export function projectionKeys(expressions: readonly string[]): Set<string> | undefined {
  return analyseProjection(expressions)?.keys as Set<string> | undefined;
}

interface Frame {
  /** What opened it: ( [ { if, or the start of the expression/interpolation. */
  kind: '(' | '[' | '{' | 'if' | 'top';
  /** Whether the input at the start of the frame may be the item. */
  base: boolean;
  /** Whether the input here may be the item. */
  item: boolean;
  /** An `as $x` or `label $x` was seen: the next `|` of this frame keeps the input instead of replacing it. */
  binding: boolean;
  /** In an object: expecting a key, the colon after a computed key, or reading a value. */
  obj?: 'key' | 'colon' | 'value';
}

const CLOSERS: Record<string, Frame['kind']> = { ')': '(', ']': '[', '}': '{' };

/** Tokens after which a `.field` is certainly a suffix of a term (`(…).a`, `$x.a`, `.a.b`), not a read of the input. */
function endsTerm(tok: Token | undefined): boolean {
  if (!tok) return false;
  if (tok.t === 'field' || tok.t === 'var' || tok.t === 'str') return true;
  return tok.t === 'op' && (tok.v === ')' || tok.v === ']' || tok.v === '?');
}

/** How the value read by `.k` at `tokens[j - 1]` is used: `.k.j`, `.k[].j` (each with optional `?`), or otherwise. */
function suffixOf(tokens: Token[], j: number): { field: string } | { element: string } | undefined {
  const op = (t: Token | undefined, v: string) => t?.t === 'op' && t.v === v;
  /** `.j`, or `."j"` with a plain string (keys such as "System.Title" need quotes): the name j. */
  const name = (at: number): string | undefined => {
    const t = tokens[at];
    if (t?.t === 'field') return t.name;
    const s = tokens[at + 1];
    if (t?.t === 'dot' && s?.t === 'str' && s.interpolations.length === 0) return s.literal;
    return undefined;
  };
  if (op(tokens[j], '?')) j++;
  const field = name(j);
  if (field !== undefined) return { field };
  if (op(tokens[j], '[') && op(tokens[j + 1], ']')) {
    j += 2;
    if (op(tokens[j], '?')) j++;
    const element = name(j);
    if (element !== undefined) return { element };
  }
  return undefined;
}

/** Walks the tokens of one expression (or interpolation), adding literal keys and reads of the item; throws Unsure. */
function analyse(tokens: Token[], item: boolean, state: State): void {
  const keys = state.keys;
  /** A read of the item's key k whose value is used from tokens[after] on. */
  const read = (k: string, after: number | undefined) => {
    let a = state.access.get(k);
    if (!a) state.access.set(k, (a = { whole: false, fields: new Set(), elements: new Set() }));
    const suffix = after === undefined ? undefined : suffixOf(tokens, after);
    if (!suffix) a.whole = true;
    else if ('field' in suffix) a.fields.add(suffix.field);
    else a.elements.add(suffix.element);
  };
  const stack: Frame[] = [{ kind: 'top', base: item, item, binding: false }];
  const top = () => stack[stack.length - 1]!;
  const strings = (tok: Extract<Token, { t: 'str' }>, frameItem: boolean) => {
    keys.add(tok.literal);
    for (const inner of tok.interpolations) analyse(inner, frameItem, state);
  };
  const isPlainString = (tok: Token | undefined): tok is Extract<Token, { t: 'str' }> => tok?.t === 'str' && tok.interpolations.length === 0;
  const push = (kind: Frame['kind'], obj?: Frame['obj']) => {
    const base = top().item;
    stack.push({ kind, base, item: base, binding: false, obj });
  };

  for (let i = 0; i < tokens.length; i++) {
    const tok = tokens[i]!;
    const f = top();
    const next = tokens[i + 1];

    if (f.kind === '{' && f.obj === 'key') {
      const ends = (t: Token | undefined) => t?.t === 'op' && (t.v === ',' || t.v === '}');
      const colon = next?.t === 'op' && next.v === ':';
      if (tok.t === 'op' && tok.v === '}') {
        stack.pop();
      } else if (tok.t === 'op' && tok.v === ',') {
        // after a shorthand entry
      } else if ((tok.t === 'ident' || tok.t === 'kw') && (colon || (tok.t === 'ident' && ends(next)))) {
        keys.add(tok.name); // `{name: …}`, or `{name}` which reads .name
        if (!colon && f.item) read(tok.name, undefined);
        if (colon) {
          f.obj = 'value';
          i++;
        }
      } else if (tok.t === 'var' && ends(next) && tok.name !== '__prog_args') {
        // `{$x}`
      } else if (tok.t === 'str' && (colon || ends(next))) {
        // `{"\(…)"}` reads a computed key of the input
        if (!colon && tok.interpolations.length > 0 && f.item) throw new Unsure();
        strings(tok, f.item);
        if (!colon && f.item) read(tok.literal, undefined);
        if (colon) {
          f.obj = 'value';
          i++;
        }
      } else if (tok.t === 'op' && tok.v === '(') {
        f.obj = 'colon';
        push('(');
      } else {
        throw new Unsure();
      }
      continue;
    }
    if (f.kind === '{' && f.obj === 'colon') {
      if (!(tok.t === 'op' && tok.v === ':')) throw new Unsure();
      f.obj = 'value';
      continue;
    }

    switch (tok.t) {
      case 'num':
      case 'field':
        if (tok.t === 'field') {
          keys.add(tok.name);
          if (f.item && !endsTerm(tokens[i - 1])) read(tok.name, i + 1);
        }
        break;
      case 'dot':
        if (!f.item) break;
        if (isPlainString(next)) {
          keys.add(next.literal); // ."k"
          if (!endsTerm(tokens[i - 1])) read(next.literal, i + 2);
          i++;
        } else if (next?.t === 'op' && next.v === '[' && isPlainString(tokens[i + 2]) && tokens[i + 3]?.t === 'op' && (tokens[i + 3] as { v: string }).v === ']') {
          const k = (tokens[i + 2] as { literal: string }).literal; // .["k"]
          keys.add(k);
          if (!endsTerm(tokens[i - 1])) read(k, i + 4);
          i += 3;
        } else {
          throw new Unsure(); // ., .[], .[0], .[$k], . as $x …
        }
        break;
      case 'recurse':
        if (f.item) throw new Unsure();
        break;
      case 'str':
        strings(tok, f.item);
        break;
      case 'fmt':
        if (f.item && next?.t !== 'str') throw new Unsure(); // `@json` alone formats its whole input
        break;
      case 'var':
        if (tok.name === '__prog_args') throw new Unsure();
        break;
      case 'ident': {
        if (FORBIDDEN.has(tok.name)) throw new Unsure();
        keys.add(tok.name);
        const call = next?.t === 'op' && next.v === '(';
        if (f.item) {
          const arities = ITEM_SAFE_BUILTINS.get(tok.name);
          if (!arities || !arities.includes(call ? arityAt(tokens, i + 1) : 0)) throw new Unsure();
        }
        if (call) {
          push('(');
          i++;
        }
        break;
      }
      case 'kw':
        switch (tok.name) {
          case 'def':
          case 'import':
          case 'include':
            throw new Unsure();
          case 'as':
          case 'label':
            // Only `$name` patterns: destructuring patterns can compute keys.
            if (next?.t !== 'var') throw new Unsure();
            f.binding = true;
            i++;
            break;
          case 'break':
            if (next?.t !== 'var') throw new Unsure();
            i++;
            break;
          case 'if':
            push('if');
            break;
          case 'then':
          case 'elif':
          case 'else':
            if (f.kind !== 'if') throw new Unsure();
            f.item = f.base;
            break;
          case 'end':
            if (f.kind !== 'if') throw new Unsure();
            stack.pop();
            break;
          default: // reduce, foreach, try, catch, and, or, __loc__ (after `$`)
            break;
        }
        break;
      case 'op':
        if (tok.v === '(' || tok.v === '[') push(tok.v);
        else if (tok.v === '{') push('{', 'key');
        else if (tok.v === ')' || tok.v === ']' || tok.v === '}') {
          if (f.kind !== CLOSERS[tok.v]) throw new Unsure();
          stack.pop();
        } else if (tok.v === '|') {
          // After `E as $x |` the input is still the construct's input; after a plain pipe it is E's output.
          if (f.binding) f.binding = false;
          else f.item = false;
        } else if (tok.v === ';') {
          f.item = f.base; // next argument (or reduce/foreach update): same input as the call
        } else if (tok.v === ',') {
          if (f.kind === '{') {
            f.obj = 'key';
            f.item = f.base;
          }
        } else if (tok.v === '?//') {
          throw new Unsure();
        } else if (ASSIGNMENTS.has(tok.v) && f.item) {
          throw new Unsure(); // `.a = 1` outputs the whole (modified) input
        }
        break;
    }
  }
  if (stack.length !== 1) throw new Unsure(); // unbalanced: jq will report it
}

/** Number of arguments of the call whose `(` is at `open`: top-level `;` separators + 1. */
function arityAt(tokens: Token[], open: number): number {
  let depth = 0;
  let n = 1;
  for (let i = open; i < tokens.length; i++) {
    const tok = tokens[i]!;
    if (tok.t === 'kw' && tok.name === 'if') depth++;
    else if (tok.t === 'kw' && tok.name === 'end') depth--;
    if (tok.t !== 'op') continue;
    if (tok.v === '(' || tok.v === '[' || tok.v === '{') depth++;
    else if (tok.v === ')' || tok.v === ']' || tok.v === '}') {
      depth--;
      if (depth === 0) return n;
    } else if (tok.v === ';' && depth === 1) n++;
  }
  throw new Unsure();
}
