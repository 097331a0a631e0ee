/**
 * The settings declaration (src/config/settingsTable.ts) is consistent, and loadSettings reads every setting by
 * every name it declares, with the declared precedence, defaults and validation.
 */
import { describe, expect, it } from '@jest/globals';
import { envSetting, loadSettings, parseSetting, SETTINGS, type Settings, type SettingSpec } from '../../src/config/settings.js';
import { SETTING_DECLARATIONS, type SettingKey } from '../../src/config/settingsTable.js';

/** A valid value for a setting, as text, that is not its default. */
function sample(s: SettingSpec, n = 1): string {
  switch (s.type) {
    case 'int':
      return String((s.min ?? 0) + 40 + n);
    case 'bool':
      return String(s.default !== true);
    case 'list':
      return `a${n},b${n}`;
    case 'string':
      return s.values ? s.values.find((v) => v !== s.default)! : `value-${n}`;
  }
}

describe('the settings declaration', () => {
  it('gives each setting its own flag and its own variables', () => {
    const flags = SETTINGS.flatMap((s) => (s.flag ? [s.flag] : []));
    const env = SETTINGS.flatMap((s) => s.env);
    expect(flags.filter((f, i) => flags.indexOf(f) !== i)).toEqual([]);
    expect(env.filter((e, i) => env.indexOf(e) !== i)).toEqual([]);
    for (const f of flags) expect(f).toMatch(/^[a-z][a-z0-9]*(-[a-z0-9]+)*$/);
    for (const e of env) expect(e).toMatch(/^[A-Z][A-Z0-9_]*$/);
    for (const s of SETTINGS) expect([s.key, s.description.length > 0]).toEqual([s.key, true]);
  });

  it('declares defaults that pass their own validation, and loadSettings starts from exactly those', () => {
    const defaults = loadSettings({}, {});
    for (const s of SETTINGS) {
      if (s.default === undefined) {
        expect([s.key, defaults[s.key]]).toEqual([s.key, undefined]);
        continue;
      }
      const text = Array.isArray(s.default) ? s.default.join(',') : String(s.default);
      expect([s.key, parseSetting(s, text, 'default')]).toEqual([s.key, s.default]);
      expect([s.key, defaults[s.key]]).toEqual([s.key, s.default]);
    }
  });

  it('reads every setting from its flag and from each of its variables, the flag first, then the variables in order', () => {
    for (const s of SETTINGS) {
      const expected = (text: string) => parseSetting(s, text, 'test');
      for (const name of s.env) expect([s.key, name, loadSettings({}, { [name]: sample(s) })[s.key]]).toEqual([s.key, name, expected(sample(s))]);
      if (s.env.length > 1) {
        const all = Object.fromEntries(s.env.map((name, i) => [name, sample(s, i + 1)]));
        expect([s.key, loadSettings({}, all)[s.key]]).toEqual([s.key, expected(sample(s, 1))]);
      }
      if (s.flag) {
        const flagValue = s.type === 'string' && s.values ? s.values.at(-1)! : sample(s, 9);
        expect([s.key, loadSettings({ [s.flag]: flagValue }, { [s.env[0]]: sample(s) })[s.key]]).toEqual([s.key, expected(flagValue)]);
      }
      expect([s.key, envSetting(s.key, { [s.env[0]]: sample(s) })]).toEqual([s.key, expected(sample(s))]);
    }
  });

  it('rejects a value outside the declaration, naming where it came from', () => {
    const ints = SETTINGS.filter((s) => s.type === 'int');
    for (const s of ints) expect(() => loadSettings({}, { [s.env[0]]: '1.5' })).toThrow(`${s.env[0]} must be a whole number, got "1.5"`);
    for (const s of ints.filter((i) => i.type === 'int' && i.min !== undefined)) {
      expect(() => loadSettings({}, { [s.env[0]]: '0' })).toThrow(`${s.env[0]} must be at least 1, got 0`);
    }
    for (const s of SETTINGS.filter((x) => x.type === 'bool')) expect(() => loadSettings({ [s.flag!]: 'maybe' }, {})).toThrow(`--${s.flag} must be true or false, got "maybe"`);
    for (const s of SETTINGS.filter((x) => x.type === 'string' && x.values)) {
      expect(() => loadSettings({}, { [s.env.at(-1)!]: 'nonsense' })).toThrow(new RegExp(`^${s.env.at(-1)}: "nonsense" is not an? `));
    }
    expect(() => loadSettings({}, { ADO_FLAVOR: 'cloud' })).toThrow('ADO_FLAVOR: "cloud" is not an Azure DevOps flavor (services or server)');
    expect(() => envSetting('jqAllowedEnv', { JQ_ALLOWED_ENV: ' A , ,B ' })).not.toThrow();
    expect(envSetting('jqAllowedEnv', { JQ_ALLOWED_ENV: ' A , ,B ' })).toEqual(['A', 'B']);
  });

  it('types Settings from the declaration: a key per entry, present when it has a default', () => {
    // Compile-time checks (npm run typecheck): the keys agree both ways, defaulted settings are not optional.
    const keys: Array<keyof Settings> = Object.keys(SETTING_DECLARATIONS) as SettingKey[];
    const back: SettingKey[] = keys;
    const s = loadSettings({}, {});
    const pageSize: number = s.pageSize;
    const level: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent' = s.logLevel;
    const urls: string[] | undefined = s.organizationUrls;
    expect([back.length, pageSize, level, urls]).toEqual([SETTINGS.length, 1000, 'info', undefined]);
  });
});
