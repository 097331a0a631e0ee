/**
 * A small WIQL evaluator for flat work-item queries: SELECT … FROM WorkItems [WHERE …] [ORDER BY …].
 * Conditions: `[Field] (=|<>|<|>|<=|>=) value`, `[Field] [NOT] IN (…)`, `[Field] [NOT] CONTAINS 'x'`, combined with
 * AND / OR / NOT and parentheses. Values: 'strings' ('' escapes a quote), numbers, @today [± days], @project, @me.
 * Anything else is a 400, as the service answers a syntax error.
 */
import { errors } from '../http/errors.js';

type Fields = Record<string, unknown>;
type Pred = (f: Fields) => boolean;
type Value = string | number | { date: number };

export interface WiqlQuery {
  where: Pred;
  /**
   * When the WHERE clause can only hold for items changed at or after this time (a `[System.ChangedDate] >=` or `>`
   * condition every match must pass): lets the route skip items changed earlier without evaluating them.
   */
  minChangedMs?: number;
  orderBy: Array<{ field: string; descending: boolean }>;
  columns: string[];
}

export interface WiqlEnv {
  referenceMs: number;
  project?: string;
}

const TOKEN = /\s*(\[[^\]]+\]|'(?:[^']|'')*'|-?\d+(?:\.\d+)?|@\w+|<>|>=|<=|=|<|>|\(|\)|,|\+|-|[A-Za-z_][\w.]*)/y;

function tokenize(q: string): string[] {
  const out: string[] = [];
  TOKEN.lastIndex = 0;
  let pos = 0;
  while (pos < q.length) {
    if (/^\s*$/.test(q.slice(pos))) break;
    TOKEN.lastIndex = pos;
    const m = TOKEN.exec(q);
    if (!m) throw syntax(`unexpected character at position ${pos}`);
    out.push(m[1] as string);
    pos = TOKEN.lastIndex;
  }
  return out;
}

function syntax(detail: string): Error {
  return errors.badRequest(`VS402611: The WIQL query has a syntax error: ${detail}.`, 'WorkItemTrackingQueryException');
}

export function parseWiql(query: string, env: WiqlEnv): WiqlQuery {
  const t = tokenize(query);
  let i = 0;
  const peek = (): string | undefined => t[i];
  const kw = (word: string): boolean => {
    if ((t[i] ?? '').toUpperCase() === word) {
      i++;
      return true;
    }
    return false;
  };
  const expect = (word: string): void => {
    if (!kw(word)) throw syntax(`expected ${word} near '${t[i] ?? 'end of query'}'`);
  };
  const field = (): string => {
    const tok = t[i++];
    if (!tok?.startsWith('[')) throw syntax(`expected a field near '${tok ?? 'end of query'}'`);
    return normaliseField(tok.slice(1, -1));
  };
  const value = (): Value => {
    const tok = t[i++];
    if (tok === undefined) throw syntax('expected a value');
    if (tok.startsWith("'")) return tok.slice(1, -1).replace(/''/g, "'");
    if (/^-?\d/.test(tok)) return Number(tok);
    const macro = tok.toLowerCase();
    if (macro === '@today') {
      let days = 0;
      if (peek() === '-' || peek() === '+') {
        const sign = t[i++] === '-' ? -1 : 1;
        const n = Number(t[i++]);
        if (!Number.isFinite(n)) throw syntax('expected a number of days after @today');
        days = sign * n;
      }
      const midnight = Math.floor(env.referenceMs / 86_400_000) * 86_400_000;
      return { date: midnight + days * 86_400_000 };
    }
    if (macro === '@project') return env.project ?? '';
    if (macro === '@me') return '';
    throw syntax(`unsupported value '${tok}'`);
  };

  expect('SELECT');
  const columns: string[] = [];
  do columns.push(field());
  while (peek() === ',' && ++i);
  expect('FROM');
  const source = t[i++];
  if ((source ?? '').toLowerCase() !== 'workitems') throw syntax(`unsupported source '${source ?? ''}'`);

  // The least ChangedDate an item needs to pass each predicate, where one is known: AND takes the larger bound,
  // OR the smaller of two (none if one side has none), NOT none.
  const bounds = new WeakMap<Pred, number>();
  const bounded = (p: Pred, bound: number | undefined): Pred => {
    if (bound !== undefined && Number.isFinite(bound)) bounds.set(p, bound);
    return p;
  };
  const orExpr = (): Pred => {
    let left = andExpr();
    while (kw('OR')) {
      const a = left;
      const b = andExpr();
      const [ba, bb] = [bounds.get(a), bounds.get(b)];
      left = bounded((f) => a(f) || b(f), ba !== undefined && bb !== undefined ? Math.min(ba, bb) : undefined);
    }
    return left;
  };
  const andExpr = (): Pred => {
    let left = unary();
    while (kw('AND')) {
      const a = left;
      const b = unary();
      const known = [bounds.get(a), bounds.get(b)].filter((x): x is number => x !== undefined);
      left = bounded((f) => a(f) && b(f), known.length > 0 ? Math.max(...known) : undefined);
    }
    return left;
  };
  const unary = (): Pred => {
    if (kw('NOT')) {
      const p = unary();
      return (f) => !p(f);
    }
    if (peek() === '(') {
      i++;
      const p = orExpr();
      if (t[i++] !== ')') throw syntax("expected ')'");
      return p;
    }
    return condition();
  };
  const condition = (): Pred => {
    const name = field();
    const negate = kw('NOT');
    if (kw('IN')) {
      if (t[i++] !== '(') throw syntax("expected '(' after IN");
      const values: Value[] = [];
      do values.push(value());
      while (peek() === ',' && ++i);
      if (t[i++] !== ')') throw syntax("expected ')'");
      return (f) => values.some((v) => compare(f[name], v) === 0) !== negate;
    }
    if (kw('CONTAINS')) {
      const v = value();
      return (f) => String(display(f[name]) ?? '').toLowerCase().includes(String(v).toLowerCase()) !== negate;
    }
    if (negate) throw syntax('NOT must precede IN or CONTAINS');
    const op = t[i++];
    const v = value();
    switch (op) {
      case '=':
        return (f) => compare(f[name], v) === 0;
      case '<>':
        return (f) => compare(f[name], v) !== 0;
      case '<':
        return (f) => (compare(f[name], v) ?? 0) < 0 && f[name] !== undefined;
      case '>':
        return bounded((f) => (compare(f[name], v) ?? 0) > 0, changedBound(name, v));
      case '<=':
        return (f) => f[name] !== undefined && (compare(f[name], v) ?? 1) <= 0;
      case '>=':
        return bounded((f) => f[name] !== undefined && (compare(f[name], v) ?? -1) >= 0, changedBound(name, v));
      default:
        throw syntax(`unsupported operator '${op ?? ''}'`);
    }
  };

  let where: Pred = () => true;
  if (kw('WHERE')) where = orExpr();
  const orderBy: WiqlQuery['orderBy'] = [];
  if (kw('ORDER')) {
    expect('BY');
    do {
      const f = field();
      const descending = kw('DESC') ? true : (kw('ASC'), false);
      orderBy.push({ field: f, descending });
    } while (peek() === ',' && ++i);
  }
  if (i < t.length) throw syntax(`unexpected '${t[i] ?? ''}'`);
  return { where, orderBy, columns, minChangedMs: bounds.get(where) };
}

/** A lower bound on System.ChangedDate from a `>`/`>=` condition on it, compared as `compare` does (to the millisecond). */
function changedBound(field: string, v: Value): number | undefined {
  if (field !== 'System.ChangedDate') return undefined;
  const ms = typeof v === 'string' ? Date.parse(v) : typeof v === 'object' ? v.date : NaN;
  return Number.isFinite(ms) ? ms : undefined;
}

const SHORT_NAMES: Record<string, string> = {
  id: 'System.Id',
  state: 'System.State',
  title: 'System.Title',
  'work item type': 'System.WorkItemType',
  'team project': 'System.TeamProject',
  'area path': 'System.AreaPath',
  'iteration path': 'System.IterationPath',
  'changed date': 'System.ChangedDate',
  'created date': 'System.CreatedDate',
  'assigned to': 'System.AssignedTo',
  tags: 'System.Tags',
};

function normaliseField(name: string): string {
  const lower = name.trim().toLowerCase();
  if (SHORT_NAMES[lower]) return SHORT_NAMES[lower] as string;
  // Reference names are case-insensitive: System.State = system.state.
  const [ns, rest] = [lower.split('.')[0] ?? '', lower.split('.').slice(1).join('.')];
  if (ns === 'system') return `System.${capitalise(rest)}`;
  return name.trim();
}

function capitalise(s: string): string {
  const known = ['Id', 'State', 'Title', 'WorkItemType', 'TeamProject', 'AreaPath', 'IterationPath', 'ChangedDate', 'CreatedDate', 'AssignedTo', 'Tags', 'Reason', 'BoardColumn'];
  return known.find((k) => k.toLowerCase() === s) ?? s.charAt(0).toUpperCase() + s.slice(1);
}

function display(v: unknown): unknown {
  if (v && typeof v === 'object' && 'uniqueName' in v) return (v as { uniqueName: string }).uniqueName;
  return v;
}

/** -1/0/1, or undefined when the field is absent (absent fields match nothing but `<>`). */
function compare(actual: unknown, v: Value): number | undefined {
  if (actual === undefined || actual === null) return undefined;
  if (typeof v === 'object') {
    const ms = Date.parse(String(actual));
    return Math.sign(ms - v.date);
  }
  if (typeof v === 'number') return Math.sign(Number(actual) - v);
  const a = String(display(actual)).toLowerCase();
  const b = v.toLowerCase();
  if (typeof actual === 'string' && /^\d{4}-\d\d-\d\dT/.test(actual) && !Number.isNaN(Date.parse(v))) {
    return Math.sign(Date.parse(actual) - Date.parse(v));
  }
  return a === b ? 0 : a < b ? -1 : 1;
}

/** Sort key comparison for ORDER BY. */
export function orderCompare(a: Fields, b: Fields, orderBy: WiqlQuery['orderBy']): number {
  for (const o of orderBy) {
    const c = compare(a[o.field], typeof b[o.field] === 'number' ? (b[o.field] as number) : String(display(b[o.field]) ?? ''));
    if (c) return o.descending ? -c : c;
  }
  return Number(a['System.Id']) - Number(b['System.Id']);
}
