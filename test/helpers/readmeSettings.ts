/**
 * The README's settings tables, generated from the settings declaration (src/config/settingsTable.ts). Each table
 * stands between a begin marker naming topics and an end marker; it lists, in declaration order, every setting whose
 * first topic is one of them:
 *
 *   <!-- settings table: mapping sync logging (generated from src/config/settingsTable.ts; edit that, then run npm run readme:settings) -->
 *   | flag | variable (aliases) | meaning |
 *   ...
 *   <!-- end of settings table -->
 */
import { SETTINGS, settingMeaning, type SettingSpec, type SettingTopic } from '../../src/config/settings.js';

export const UPDATE_COMMAND = 'npm run readme:settings';
const BLOCK = /(<!-- settings table: ([a-z ]+?) \(generated[^>]*-->\n)([\s\S]*?)(<!-- end of settings table -->)/g;

export interface SettingsTable {
  topics: SettingTopic[];
  /** The table as the README has it, and as the declaration renders it. */
  committed: string;
  generated: string;
}

const code = (text: string) => `\`${text}\``;
const cell = (text: string) => text.replace(/\|/g, '\\|');

export function settingRow(s: SettingSpec): string {
  const [name, ...aliases] = s.env;
  const variables = `${code(name)}${aliases.length > 0 ? ` (${aliases.map(code).join(', ')})` : ''}`;
  return `| ${s.flag ? code(`--${s.flag}`) : '—'} | ${variables} | ${cell(settingMeaning(s, code))} |`;
}

export function renderTable(topics: readonly SettingTopic[]): string {
  const rows = SETTINGS.filter((s) => topics.includes(s.topics[0])).map(settingRow);
  return ['| flag | variable (aliases) | meaning |', '|---|---|---|', ...rows, ''].join('\n');
}

/** Every settings table of the README, committed and generated. */
export function settingsTables(readme: string): SettingsTable[] {
  return [...readme.matchAll(BLOCK)].map((m) => {
    const topics = m[2]!.split(' ') as SettingTopic[];
    return { topics, committed: m[3]!, generated: renderTable(topics) };
  });
}

/** The README with every settings table regenerated. */
export function regenerateSettingsTables(readme: string): string {
  return readme.replace(BLOCK, (_all, begin: string, topics: string, _body: string, end: string) => `${begin}${renderTable(topics.split(' ') as SettingTopic[])}${end}`);
}
