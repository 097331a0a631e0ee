/**
 * The import graph of src/: every import (static, `import type`, re-exports, `import()` and `import('…')` types) of
 * every source file, read with the TypeScript parser, must
 * - stay inside src/ (nothing from test/, bench/ or elsewhere in the repository),
 * - run down the floors below, or stay in its own folder (a lower floor never imports a higher one, and two folders
 *   of one floor do not import each other),
 * - form no circle between files.
 */
import { describe, expect, it } from '@jest/globals';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { ROOT } from '../helpers/cli.js';

/**
 * The floors of src/, top down: a folder may import its own files and the folders of the floors below it. A new
 * folder of src/ fails this test until it is given a floor here.
 */
const FLOORS: readonly (readonly string[])[] = [
  ['cli'], // commands and their output
  ['server', 'serviceHooks'], // the HTTP app; the Azure DevOps service-hook subscriptions
  ['queue'], // BullMQ: flows, jobs, workers
  ['actions'], // Port action runs executed in Azure DevOps and Microsoft Graph, reported to Port
  ['sync'], // full resync, live events, stale deletion, run state
  ['mapping'], // jq programs and the jq pool
  ['config'], // settings and the port-app-config (validated with the kinds' selector schemas)
  ['kinds'], // one file per kind: selector schema, fetcher, events
  ['catalog', 'ado', 'msgraph'], // the Port API, the Azure DevOps API, Microsoft Graph
  ['http'], // the one outbound transport
  ['observability'], // metrics and logging
  ['util'], // small helpers that import nothing of src/
];

const SRC = join(ROOT, 'src');

interface ImportEdge {
  /** Importing file, relative to the repository root (`src/queue/runtime.ts`). */
  from: string;
  /** The specifier as written. */
  specifier: string;
  /** Imported file, relative to the repository root, for a relative specifier. */
  to?: string;
  line: number;
}

/** Every module specifier of a source text: imports, re-exports, `import()` calls and `import('…')` types. */
function importsOf(file: string, text: string): Array<{ specifier: string | undefined; line: number }> {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const out: Array<{ specifier: string | undefined; line: number }> = [];
  const add = (node: ts.Node, spec: ts.Node | undefined) =>
    out.push({ specifier: spec && ts.isStringLiteralLike(spec) ? spec.text : undefined, line: source.getLineAndCharacterOfPosition(node.getStart()).line + 1 });
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) {
      if (node.moduleSpecifier) add(node, node.moduleSpecifier);
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      add(node, node.moduleReference.expression);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      add(node, node.arguments[0]); // import(…): a specifier that is not a literal is reported as undefined
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
      add(node, node.argument.literal);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return out;
}

/** `.js` specifiers name the `.ts` file beside them (NodeNext); a folder is not a module here. */
function resolveRelative(from: string, specifier: string): string {
  const target = resolve(dirname(join(ROOT, from)), specifier);
  return relative(ROOT, target.replace(/\.js$/, '.ts')).split('\\').join('/');
}

function edgesOf(files: ReadonlyMap<string, string>): { edges: ImportEdge[]; unreadable: string[] } {
  const edges: ImportEdge[] = [];
  const unreadable: string[] = [];
  for (const [from, text] of files) {
    for (const { specifier, line } of importsOf(from, text)) {
      if (specifier === undefined) unreadable.push(`${from}:${line}: import() of an expression (name the module with a string, so its place can be checked)`);
      else if (specifier.startsWith('.')) edges.push({ from, specifier, to: resolveRelative(from, specifier), line });
      else edges.push({ from, specifier, line });
    }
  }
  return { edges, unreadable };
}

/** The folder of src/ a file is in (`src/queue/runtime.ts` → `queue`), or undefined outside src/. */
function folderOf(file: string): string | undefined {
  const parts = file.split('/');
  return parts[0] === 'src' && parts.length > 2 ? parts[1] : undefined;
}

/** What breaks the floors: imports leaving src/, imports running up or across, and folders with no floor. */
function floorViolations(edges: readonly ImportEdge[], floors: readonly (readonly string[])[] = FLOORS): string[] {
  const floorOf = new Map<string, number>();
  floors.forEach((folders, i) => folders.forEach((f) => floorOf.set(f, i)));
  const out = new Set<string>();
  for (const e of edges) {
    const where = `${e.from}:${e.line} imports ${e.specifier}`;
    const from = folderOf(e.from);
    if (from === undefined || !floorOf.has(from)) {
      out.add(`${e.from}: src/${from ?? ''}${from ? '/' : ''} has no floor (give it one in FLOORS of test/unit/importGraph.test.ts)`);
      continue;
    }
    if (e.to === undefined) continue; // a package
    if (!e.to.startsWith('src/')) {
      out.add(`${where}: outside src/ (${e.to})`);
      continue;
    }
    const to = folderOf(e.to);
    if (to === from) continue;
    if (to === undefined || !floorOf.has(to)) {
      out.add(`${where}: src/${to ?? ''}${to ? '/' : ''} has no floor`);
      continue;
    }
    const a = floorOf.get(from)!;
    const b = floorOf.get(to)!;
    if (b < a) out.add(`${where}: ${from} (floor ${a + 1}) imports ${to}, a higher floor (${b + 1})`);
    else if (b === a) out.add(`${where}: ${from} and ${to} share floor ${a + 1} and must not import each other`);
  }
  return [...out];
}

/** Circles between files (strongly connected components of more than one file, or a file importing itself). */
function circles(edges: readonly ImportEdge[]): string[][] {
  const next = new Map<string, Set<string>>();
  for (const e of edges) {
    if (!e.to?.startsWith('src/')) continue;
    const targets = next.get(e.from) ?? new Set<string>();
    next.set(e.from, targets.add(e.to));
  }
  // Tarjan's algorithm, iterative.
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const found: string[][] = [];
  for (const start of next.keys()) {
    if (index.has(start)) continue;
    const work: Array<{ node: string; it: Iterator<string> }> = [];
    const open = (node: string) => {
      index.set(node, counter);
      low.set(node, counter++);
      stack.push(node);
      onStack.add(node);
      work.push({ node, it: (next.get(node) ?? new Set<string>()).values() });
    };
    open(start);
    while (work.length > 0) {
      const top = work[work.length - 1]!;
      const step = top.it.next();
      if (!step.done) {
        const w = step.value;
        if (!index.has(w)) open(w);
        else if (onStack.has(w)) low.set(top.node, Math.min(low.get(top.node)!, index.get(w)!));
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent) low.set(parent.node, Math.min(low.get(parent.node)!, low.get(top.node)!));
      if (low.get(top.node) === index.get(top.node)) {
        const component: string[] = [];
        let w: string;
        do {
          w = stack.pop()!;
          onStack.delete(w);
          component.push(w);
        } while (w !== top.node);
        if (component.length > 1 || next.get(top.node)?.has(top.node)) found.push(component.sort());
      }
    }
  }
  return found;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const path = join(dir, d.name);
    if (d.isDirectory()) return sourceFiles(path);
    return /\.(ts|mts|cts|js|mjs|cjs)$/.test(d.name) && !d.name.endsWith('.d.ts') ? [path] : [];
  });
}

function readSrc(): Map<string, string> {
  return new Map(sourceFiles(SRC).map((path) => [relative(ROOT, path).split('\\').join('/'), readFileSync(path, 'utf8')]));
}

describe('the import graph of src/', () => {
  const files = readSrc();
  const { edges, unreadable } = edgesOf(files);

  it('reads every import of every file', () => {
    expect(files.size).toBeGreaterThan(50);
    expect(edges.filter((e) => e.to !== undefined).length).toBeGreaterThan(200);
    expect(unreadable).toEqual([]);
  });

  it('imports nothing outside src/ (no test/, no bench/) and runs only down the floors', () => {
    expect(floorViolations(edges)).toEqual([]);
  });

  it('has no circle between files', () => {
    expect(circles(edges)).toEqual([]);
  });
});

describe('the import-graph checks themselves', () => {
  const graph = (sources: Record<string, string>) => edgesOf(new Map(Object.entries(sources)));

  it('see static, type-only, re-exported and dynamic imports, and import() types', () => {
    const text = [
      "import { a } from './a.js';",
      "import type { B } from '../b/b.js';",
      "export * from './c.js';",
      "export { d } from './d.js';",
      "type E = import('./e.js').E;",
      "const f = async () => import('./f.js');",
      "const g = (name: string) => import(name);",
      "import 'side-effect';",
    ].join('\n');
    expect(importsOf('src/x/x.ts', text).map((i) => i.specifier)).toEqual(['./a.js', '../b/b.js', './c.js', './d.js', './e.js', './f.js', undefined, 'side-effect']);
  });

  it('fail on an import running up or across a floor (static or dynamic), on one of test/ or bench/, and on a folder without a floor', () => {
    const { edges } = graph({
      'src/util/bad.ts': "import type { Cluster } from '../queue/runtime.js';",
      'src/sync/lazy.ts': "export const load = () => import('../cli/main.js');",
      'src/ado/side.ts': "import { PortSink } from '../catalog/portSink.js';",
      'src/queue/fine.ts': "import { x } from '../sync/x.js'; import { y } from './y.js'; import { Queue } from 'bullmq';",
      'src/sync/uses-test.ts': "import { startAdoSimulator } from '../../test/simulators/ado/index.js';",
      'src/mapping/uses-bench.ts': "import { pullRequestPayload } from '../../bench/prPayloads.js';",
      'src/gitops/run.ts': "import { x } from '../util/x.js';",
    });
    expect(floorViolations(edges)).toEqual([
      expect.stringContaining('src/util/bad.ts:1 imports ../queue/runtime.js: util (floor 12) imports queue, a higher floor (3)'),
      expect.stringContaining('src/sync/lazy.ts:1 imports ../cli/main.js: sync (floor 5) imports cli, a higher floor (1)'),
      expect.stringContaining('src/ado/side.ts:1 imports ../catalog/portSink.js: ado and catalog share floor 9'),
      expect.stringContaining('outside src/ (test/simulators/ado/index.ts)'),
      expect.stringContaining('outside src/ (bench/prPayloads.ts)'),
      expect.stringContaining('src/gitops/ has no floor'),
    ]);
  });

  it('find a circle, also through import()', () => {
    const { edges } = graph({
      'src/cli/args.ts': "import { flagOptions } from './commands.js';",
      'src/cli/commands.ts': "export const run = () => import('./commands/sync.js');",
      'src/cli/commands/sync.ts': "import { parseCommandArgs } from '../args.js';",
      'src/cli/main.ts': "import { run } from './commands.js';",
    });
    expect(circles(edges)).toEqual([['src/cli/args.ts', 'src/cli/commands.ts', 'src/cli/commands/sync.ts']]);
  });
});
