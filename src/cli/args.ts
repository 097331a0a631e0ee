import { parseArgs, type ParseArgsConfig } from 'node:util';
import { SETTINGS } from '../config/settings.js';
import { UserInputError } from '../util/errors.js';
import { flagOptions } from './commands.js';

type Options = NonNullable<ParseArgsConfig['options']>;

/** Flags shared by all commands: every integration setting that has a flag (a few are environment variables only). */
export const SETTING_FLAGS: Options = Object.fromEntries(SETTINGS.filter((s) => s.flag).map((s) => [s.flag, { type: 'string' as const }]));

/** A command's flags (declared in commands.ts) and every setting's flag; an unknown flag is an input error. */
export function parseCommandArgs(argv: string[], command: string): { flags: Record<string, string | boolean | undefined>; positionals: string[] } {
  try {
    const options: Options = { ...SETTING_FLAGS, ...flagOptions(command), help: { type: 'boolean', short: 'h' } };
    const { values, positionals } = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
    return { flags: values as Record<string, string | boolean | undefined>, positionals };
  } catch (err) {
    throw new UserInputError(`${(err as Error).message.replace(/\.$/, '')}; see ado-sync ${command} --help`);
  }
}
