import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { KINDS } from '../../src/kinds/registry.js';
import { SETTINGS } from '../../src/config/settings.js';
import { ROOT } from '../helpers/cli.js';

const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');

describe('README stays true', () => {
  it('has a kinds-table row for every registered kind, with its selector options', () => {
    for (const k of KINDS) {
      const row = readme.split('\n').find((l) => l.startsWith(`| \`${k.kind}\` |`));
      expect([k.kind, row !== undefined]).toEqual([k.kind, true]);
      for (const option of Object.keys(k.selectorSchema.properties)) expect([k.kind, row!.includes(`\`${option}\``)]).toEqual([k.kind, true]);
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

  it('documents the main settings', () => {
    for (const s of SETTINGS.filter((x) => ['organizationUrl', 'personalAccessToken', 'configFile', 'jqPoolSize'].includes(x.key))) {
      expect(readme).toContain(s.env[0]!);
    }
  });
});
