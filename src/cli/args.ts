import { parseArgs, type ParseArgsConfig } from 'node:util';
import { SETTINGS } from '../config/settings.js';
import { UserInputError } from '../util/errors.js';

type Options = NonNullable<ParseArgsConfig['options']>;

/** Flags shared by all commands: every integration setting can be given as a flag. */
export const SETTING_FLAGS: Options = Object.fromEntries(SETTINGS.map((s) => [s.flag, { type: 'string' as const }]));

export function parseCommandArgs(argv: string[], extra: Options): { flags: Record<string, string | boolean | undefined>; positionals: string[] } {
  try {
    const { values, positionals } = parseArgs({ args: argv, options: { ...SETTING_FLAGS, ...extra, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
    return { flags: values as Record<string, string | boolean | undefined>, positionals };
  } catch (err) {
    throw new UserInputError(`${(err as Error).message}. See ado-sync --help`);
  }
}
