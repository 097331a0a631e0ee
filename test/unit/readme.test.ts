import { describe, expect, it } from '@jest/globals';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KINDS } from '../../src/kinds/registry.js';
import { SETTINGS } from '../../src/config/settings.js';
import { ROOT } from '../helpers/cli.js';
import { regenerateSettingsTables, settingsTables, UPDATE_COMMAND } from '../helpers/readmeSettings.js';

const README = join(ROOT, 'README.md');
// UPDATE_README=1 rewrites the settings tables from the declaration first (and the checks below then hold).
if (process.env.UPDATE_README) writeFileSync(README, regenerateSettingsTables(readFileSync(README, 'utf8')));
const readme = readFileSync(README, 'utf8');

describe('README stays true', () => {
  it('has a kinds-table row for every registered kind, with its selector options', () => {
    for (const k of KINDS) {
      const row = readme.split('\n').find((l) => l.startsWith(`| \`${k.kind}\` |`));
      expect([k.kind, row !== undefined]).toEqual([k.kind, true]);
      for (const option of Object.keys(k.selectorSchema.properties)) expect([k.kind, row!.includes(`\`${option}\``)]).toEqual([k.kind, true]);
    }
  });

  it('lists every kind that reads incrementally with what its pass reads', () => {
    const incremental = KINDS.filter((k) => k.incremental);
    expect(incremental.length).toBeGreaterThan(0);
    for (const k of incremental) {
      const row = readme.split('\n').find((l) => l.startsWith(`| ${k.kind} | `));
      expect([k.kind, row?.split('|')[2]?.trim()]).toEqual([k.kind, k.incremental!.reads]);
    }
  });

  it("lists in each kind's row the webhook events it handles, and every handled event in the events table", () => {
    for (const k of KINDS) {
      const row = readme.split('\n').find((l) => l.startsWith(`| \`${k.kind}\` |`))!;
      const last = row.split('|').at(-2)!.trim();
      const events = k.events?.subscriptions.map((s) => s.eventType) ?? [];
      if (events.length === 0) expect([k.kind, last]).toEqual([k.kind, '—']);
      for (const e of events) {
        expect([k.kind, e, last.includes(`\`${e}\``)]).toEqual([k.kind, e, true]);
        const tableRow = readme.split('\n').find((l) => l.startsWith('| `') && l.includes(`\`${e}\``) && l.includes(`\`${k.kind}\``) && !l.startsWith(`| \`${k.kind}\` |`));
        expect([k.kind, e, tableRow !== undefined]).toEqual([k.kind, e, true]);
      }
    }
  });

  it('shows the two quick-start commands', () => {
    expect(readme).toContain('npm run demo');
    expect(readme).toContain('npm test');
  });

  it('has settings tables exactly as the settings declaration renders them', () => {
    const tables = settingsTables(readme);
    expect(tables.length).toBeGreaterThan(0);
    for (const t of tables) {
      // On a difference: edit src/config/settingsTable.ts, not the README, then run the command below.
      expect({ topics: t.topics, table: t.committed, regenerate: UPDATE_COMMAND }).toEqual({ topics: t.topics, table: t.generated, regenerate: UPDATE_COMMAND });
    }
  });

  it('lists every setting in exactly one settings table, with its flag and every variable and alias', () => {
    const rows = settingsTables(readme).flatMap((t) => t.committed.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| flag |')));
    for (const s of SETTINGS) {
      const cells = (row: string) => row.split(' | ').slice(0, 2).join(' | ');
      const named = rows.filter((row) => (s.flag ? cells(row).startsWith(`| \`--${s.flag}\` |`) : cells(row).startsWith(`| — | \`${s.env[0]}\``)));
      expect([s.key, named.length]).toEqual([s.key, 1]);
      for (const name of s.env) expect([s.key, name, cells(named[0]!).includes(`\`${name}\``)]).toEqual([s.key, name, true]);
    }
    expect(rows).toHaveLength(SETTINGS.length);
  });
});
