import { ConfigError, type ConfigIssue, type LoadedAppConfig } from '../config/appConfig.js';
import { lineOf } from '../config/yamlPositions.js';
import { compileResource, expressionsOf } from './compile.js';
import { jqPath } from './jqBinary.js';

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

/** Compile-only: `if false` keeps jq from evaluating, but the whole expression is still parsed and bound. */
async function compileError(expr: string): Promise<string | undefined> {
  const run = await nodeJq();
  try {
    await run(`if false then (${expr}) else empty end`, null, { input: 'json', output: 'json' });
    return undefined;
  } catch (err) {
    return cleanJqMessage((err as Error).message);
  }
}

function cleanJqMessage(message: string): string {
  return message
    .split('\n')
    .filter((l) => l.startsWith('jq: error'))
    .map((l) => l.replace(/^jq: error(: | \(at <unknown>\): )/, '').replace(/ at <top-level>, line \d+:$/, ''))
    .join('; ') || message.trim();
}

/**
 * Compile-checks every jq expression of the config: each resource's program as a whole first (one jq call), and
 * expression by expression only when that fails, to name the culprit.
 */
export async function checkJqExpressions(loaded: LoadedAppConfig): Promise<void> {
  const issues: ConfigIssue[] = [];
  await Promise.all(
    loaded.config.resources.map(async (resource, index) => {
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
