/** Help text: the command list, and each command's usage, flags and settings, in aligned columns that wrap. */
import { SETTINGS, settingMeaning, type SettingSpec } from '../config/settings.js';
import { COMMANDS, type CommandSpec } from './commands.js';

const WIDTH = 118;

/** Rows of cells as columns: every column but the last as wide as its widest cell, the last wrapped to WIDTH. */
export function columns(rows: string[][], indent = '  '): string {
  const n = Math.max(...rows.map((r) => r.length));
  const widths = Array.from({ length: n - 1 }, (_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  const lead = indent.length + widths.reduce((a, w) => a + w + 2, 0);
  const room = Math.max(30, WIDTH - lead);
  return rows
    .map((r) => {
      const head = indent + widths.map((w, i) => (r[i] ?? '').padEnd(w + 2)).join('');
      const wrapped = wrap(r[n - 1] ?? '', room);
      return [head + (wrapped[0] ?? ''), ...wrapped.slice(1).map((l) => ' '.repeat(lead) + l)].join('\n').trimEnd();
    })
    .join('\n');
}

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines;
}

/** Flag (none for a variable only), the worker's variable, and the meaning with its default (code unquoted). */
const settingRow = (s: SettingSpec): string[] => [s.flag ? `--${s.flag}` : '', s.env[0], settingMeaning(s, (code) => code)];

export function mainHelp(version: string): string {
  return [
    `ado-sync ${version}: ingest Azure DevOps into a software catalog (Port)`,
    '',
    'Usage: ado-sync COMMAND [flags]      ado-sync COMMAND --help shows a command\'s flags and settings',
    '',
    'Commands:',
    columns(COMMANDS.map((c) => [c.name, c.summary])),
    '',
    'Every setting is a flag and an environment variable (flags win); a few are variables only. All settings:',
    columns(SETTINGS.map(settingRow)),
    '',
    'Exit codes: 0 success, 1 sync failure (a resource failed or was incomplete), 2 bad input (config, flags, payloads).',
    'Other: ado-sync --version',
  ].join('\n');
}

export function commandHelp(c: CommandSpec): string {
  const settings = SETTINGS.filter((s) => s.topics.some((t) => c.settings.topics.includes(t)) || (s.flag !== undefined && c.settings.flags?.includes(s.flag)));
  const own = Object.entries(c.flags).map(([flag, f]) => [`--${flag}${f.value ? ` ${f.value}` : ''}`, f.description]);
  return [
    `Usage: ado-sync ${c.name} ${c.synopsis}`,
    '',
    `${c.summary[0]!.toUpperCase()}${c.summary.slice(1)}.`,
    ...(own.length > 0 ? ['', 'Flags:', columns([...own, ['--help', 'this help']])] : []),
    '',
    'Settings (flag, environment variable, meaning):',
    columns(settings.map(settingRow)),
  ].join('\n');
}
