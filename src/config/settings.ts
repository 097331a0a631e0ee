/**
 * Reads the integration settings declared in settingsTable.ts: flags (highest), then environment variables in their
 * declared order, then defaults; every value parsed and validated by its declaration, errors naming the flag or the
 * variable that set it.
 */
import { UserInputError } from '../util/errors.js';
import { SETTINGS, settingSpec, type SettingKey, type Settings, type SettingSpec } from './settingsTable.js';

export { SETTINGS, settingSpec, settingName, howToSet, settingMeaning } from './settingsTable.js';
export type { Settings, SettingKey, SettingSpec, SettingTopic } from './settingsTable.js';

type Flags = Record<string, string | boolean | undefined>;

/** Settings from flags (highest), then environment variables, then defaults. */
export function loadSettings(flags: Flags, env: NodeJS.ProcessEnv = process.env): Settings {
  const out: Record<string, unknown> = {};
  for (const spec of SETTINGS) {
    const given = rawValue(spec, flags, env);
    if (given) out[spec.key] = parseSetting(spec, given.raw, given.source);
    else if (spec.default !== undefined) out[spec.key] = Array.isArray(spec.default) ? [...spec.default] : spec.default;
  }
  return out as Settings;
}

/**
 * One setting read from the environment alone, parsed and validated like loadSettings does; undefined when unset.
 * For what is read where it is used rather than passed down (JQ_PATH, JQ_ALLOWED_ENV in mapping/jqBinary.ts).
 */
export function envSetting<K extends SettingKey>(key: K, env: NodeJS.ProcessEnv = process.env): Settings[K] | undefined {
  const spec = settingSpec(key);
  const given = rawValue(spec, {}, env);
  return given ? (parseSetting(spec, given.raw, given.source) as Settings[K]) : undefined;
}

/** The flag's value, else the first of the setting's variables that is set and not empty. */
function rawValue(spec: SettingSpec, flags: Flags, env: NodeJS.ProcessEnv): { raw: string | boolean; source: string } | undefined {
  const flagged = spec.flag === undefined ? undefined : flags[spec.flag];
  if (flagged !== undefined) return { raw: flagged, source: `--${spec.flag}` };
  const name = spec.env.find((n) => env[n] !== undefined && env[n] !== '');
  return name ? { raw: env[name]!, source: name } : undefined;
}

/** A value as its declaration reads it: typed, normalized and checked against `min` and `values`. */
export function parseSetting(spec: SettingSpec, raw: string | boolean, source: string): unknown {
  const text = String(raw).trim();
  switch (spec.type) {
    case 'int': {
      const n = Number(text);
      if (!Number.isInteger(n)) throw new UserInputError(`${source} must be a whole number, got "${text}"`);
      if (spec.min !== undefined && n < spec.min) throw new UserInputError(`${source} must be at least ${spec.min}, got ${n}`);
      return n;
    }
    case 'bool':
      if (/^(true|1|yes)$/i.test(text)) return true;
      if (/^(false|0|no)$/i.test(text)) return false;
      throw new UserInputError(`${source} must be true or false, got "${text}"`);
    case 'list':
      return text.split(',').map((s) => s.trim()).filter(Boolean);
    case 'string': {
      const value = spec.normalize ? spec.normalize(text) : text;
      if (spec.values && !spec.values.includes(value)) {
        const list = spec.valuesText ?? (spec.values.length === 2 ? spec.values.join(' or ') : spec.values.join(', '));
        throw new UserInputError(`${source}: "${text}" is not ${spec.valueName ?? 'an accepted value'} (${list})`);
      }
      return value;
    }
  }
}

/** Values of secret settings, to scrub from any output. */
export function secretValues(s: Settings): string[] {
  return SETTINGS.filter((spec) => spec.secret).map((spec) => s[spec.key]).filter((v): v is string => typeof v === 'string');
}
