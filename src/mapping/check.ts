import { ConfigError, type ConfigIssue, type LoadedAppConfig } from '../config/appConfig.js';
import { lineOf } from '../util/yamlPositions.js';
import { compileResource, expressionsOf } from './compile.js';
import { jqPath } from './jqBinary.js';
import { PACKAGE_JSON } from '../util/version.js';

type RunJq = (filter: string, json: unknown, options?: object) => Promise<unknown>;
let runJq: RunJq | undefined;

/** node-jq reads JQ_PATH when it loads, so it is imported only after jqPath() has settled the binary. */
async function nodeJq(): Promise<RunJq> {
  if (!runJq) {
    jqPath();
    const mod = (await import('node-jq')) as unknown as { run: RunJq; default?: { run: RunJq } };
    runJq = mod.run ?? mod.default!.run;
  }
  return runJq;
}

/**
 * Compile-only: `if false` keeps jq from evaluating, but the whole expression is still parsed and bound. The input is a
 * file (package.json, which always exists), never stdin: jq stops at a compile error before reading its input, and a
 * write to its stdin then fails with EPIPE instead of jq's message.
 */
async function compileError(expr: string): Promise<string | undefined> {
  const run = await nodeJq();
  if (!PACKAGE_JSON) throw new Error('package.json not found next to the program: cannot check jq expressions');
  // The expression on lines of its own, so an error at the wrapper's closing line means the expression ended early.
  const closing = expr.split('\n').length + 2;
  try {
    await run(`if false then (\n${expr}\n) else empty end`, PACKAGE_JSON, { input: 'file', output: 'json' });
    return undefined;
  } catch (err) {
    return cleanJqMessage((err as Error).message, closing);
  }
}

/** jq's own words, without its command-line hints: this expression lives in a YAML file, not a shell. */
export function cleanJqMessage(message: string, closingLine = -1): string {
  return message
    .split('\n')
    .filter((l) => l.startsWith('jq: error'))
    .map((l) => {
      const atClosing = new RegExp(`at <top-level>, line ${closingLine}:$`).test(l);
      const text = l
        .replace(/^jq: error(: | \(at <unknown>\): )/, '')
        .replace(/ at <top-level>, line \d+:$/, '')
        .replace(/ \(Unix shell quoting issues\?\)/, '');
      return atClosing && /^syntax error, unexpected '\)'/.test(text) ? 'syntax error: the expression ends too early' : text;
    })
    .join('; ') || message.trim();
}

/**
 * Compile-checks every jq expression of the config (or of the resources at `only`): each resource's program as a whole first (one jq call), and
 * expression by expression only when that fails, to name the culprit.
 */
export async function checkJqExpressions(loaded: LoadedAppConfig, only?: number[]): Promise<void> {
  const issues: ConfigIssue[] = [];
  await Promise.all(
    loaded.config.resources.map(async (resource, index) => {
      if (only && !only.includes(index)) return;
      if (!(await compileError(compileResource(resource).program))) return;
      for (const { field, path, expr } of expressionsOf(resource)) {
        const message = await compileError(expr);
        if (!message) continue;
        issues.push({
          file: loaded.file,
          line: lineOf(loaded.positions, ['resources', index, ...path]),
          resourceIndex: index,
          kind: resource.kind,
          field,
          message: `jq expression ${JSON.stringify(expr)} does not compile: ${message}`,
        });
      }
    }),
  );
  if (issues.length > 0) {
    issues.sort((a, b) => (a.resourceIndex ?? 0) - (b.resourceIndex ?? 0) || (a.line ?? 0) - (b.line ?? 0));
    throw new ConfigError(issues);
  }
}
