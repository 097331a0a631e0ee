import { readFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { loadAppConfig } from '../../config/appConfig.js';
import { loadSettings } from '../../config/settings.js';
import { parseSpecFile, type SpecProblem } from '../../kinds/shared/gitopsSpec.js';
import { checkJqExpressions } from '../../mapping/check.js';
import { UserInputError } from '../../util/errors.js';
import { parseCommandArgs } from '../args.js';

export async function validateCommand(argv: string[]): Promise<number> {
  const { flags } = parseCommandArgs(argv, 'validate');
  if (flags.spec !== undefined) {
    if (flags.config !== undefined) throw new UserInputError('--spec and --config check different files; give one of them');
    return validateSpec(String(flags.spec));
  }
  const settings = loadSettings(flags);
  const loaded = loadAppConfig(settings.configFile);
  await checkJqExpressions(loaded);
  const kinds = loaded.config.resources.map((r) => r.kind).join(', ');
  process.stderr.write(`${loaded.file}: valid, ${loaded.config.resources.length} resources (${kinds})\n`);
  return 0;
}

/** `--spec FILE`: a GitOps spec checked offline; FILE's folder stands for the repository root. */
async function validateSpec(file: string): Promise<number> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new UserInputError(`--spec ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
  const root = dirname(resolve(file));
  const spec = await parseSpecFile(text, `/${basename(file)}`, async (repoPath) => {
    try {
      return await readFile(join(root, repoPath), 'utf8');
    } catch (err) {
      if (['ENOENT', 'ENOTDIR', 'EISDIR'].includes((err as NodeJS.ErrnoException).code ?? '')) return undefined;
      throw err;
    }
  });
  for (const { entity } of spec.entries) process.stdout.write(`ok  ${entity.blueprint}/${entity.identifier}\n`);
  for (const p of spec.problems) process.stderr.write(`${problemLine(file, p)}\n`);
  const count = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;
  process.stderr.write(`${file}: ${count(spec.entries.length, 'entity', 'entities')} ok, ${count(spec.problems.length, 'problem', 'problems')}\n`);
  return spec.problems.length === 0 ? 0 : 2;
}

function problemLine(file: string, p: SpecProblem): string {
  return `${file}${p.line !== undefined ? `:${p.line}` : ''}: ${p.entity !== undefined ? `${p.entity}: ` : ''}${p.message}`;
}
