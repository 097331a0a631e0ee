/**
 * Static checks of helm/ado-catalog-sync (no helm binary here): template syntax balance, `.Values` paths against
 * values.yaml in both directions, values.yaml against values.schema.json (which Helm enforces on install), Chart.yaml,
 * values.yaml documented key by key, and the environment variables the chart sets against the app's SETTINGS.
 */
import { describe, expect, it } from '@jest/globals';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { Ajv } from 'ajv';
import { SETTINGS, loadSettings } from '../../src/config/settings.js';

const chartDir = join(process.cwd(), 'helm', 'ado-catalog-sync');
const templatesDir = join(chartDir, 'templates');
const templateFiles = readdirSync(templatesDir).filter((f) => /\.(ya?ml|tpl|txt)$/.test(f)).sort();
const templates = new Map(templateFiles.map((f) => [f, readFileSync(join(templatesDir, f), 'utf8')]));
const valuesText = readFileSync(join(chartDir, 'values.yaml'), 'utf8');
const values = yaml.load(valuesText) as Record<string, unknown>;
const schema = JSON.parse(readFileSync(join(chartDir, 'values.schema.json'), 'utf8')) as Record<string, unknown>;

/**
 * Values keys no template names, on purpose. Empty today; add `path: reason` here rather than leaving a key unused.
 */
const UNUSED_VALUES_ALLOWLIST: Record<string, string> = {};

interface Action {
  body: string;
  line: number;
}

/** The `{{ ... }}` actions of a template, with trim markers and comments removed; throws on unbalanced delimiters. */
function actions(name: string, text: string): Action[] {
  const out: Action[] = [];
  let i = 0;
  const lineAt = (pos: number) => text.slice(0, pos).split('\n').length;
  for (;;) {
    const open = text.indexOf('{{', i);
    const strayClose = text.indexOf('}}', i);
    if (strayClose !== -1 && (open === -1 || strayClose < open)) throw new Error(`${name}:${lineAt(strayClose)}: "}}" without "{{"`);
    if (open === -1) break;
    let start = open + 2;
    if (text[start] === '-' && /\s/.test(text[start + 1] ?? '')) start += 1;
    const isComment = text.slice(start).trimStart().startsWith('/*');
    const close = isComment ? text.indexOf('*/', start) : text.indexOf('}}', start);
    if (close === -1) throw new Error(`${name}:${lineAt(open)}: "{{" never closed`);
    const end = isComment ? text.indexOf('}}', close) : close;
    if (end === -1) throw new Error(`${name}:${lineAt(open)}: comment never closed`);
    const inner = text.slice(start, end);
    if (!isComment && inner.includes('{{')) throw new Error(`${name}:${lineAt(open)}: "{{" inside an action`);
    if (!isComment) out.push({ body: inner.replace(/\s-$/, '').trim(), line: lineAt(open) });
    i = end + 2;
  }
  return out;
}

/** Checks that if/range/with/define/block ... end nest, and that else only appears inside if/with/range. */
function checkBlocks(name: string, acts: Action[]): void {
  const stack: { keyword: string; line: number }[] = [];
  for (const a of acts) {
    const keyword = a.body.split(/\s+/)[0] ?? '';
    if (['if', 'range', 'with', 'define', 'block'].includes(keyword)) stack.push({ keyword, line: a.line });
    else if (keyword === 'else') {
      const top = stack[stack.length - 1];
      if (!top || !['if', 'with', 'range'].includes(top.keyword)) throw new Error(`${name}:${a.line}: else outside if/with/range`);
    } else if (keyword === 'end') {
      if (!stack.pop()) throw new Error(`${name}:${a.line}: end without a block`);
    }
  }
  const open = stack.pop();
  if (open) throw new Error(`${name}:${open.line}: ${open.keyword} never ended`);
}

/** Every `.Values.a.b` (also `$.Values…`, `$root.Values…`) named in a template action. */
function valuesPaths(acts: Action[]): string[] {
  const paths: string[] = [];
  for (const a of acts) {
    for (const m of a.body.matchAll(/\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)/g)) paths.push(m[1]!.slice(1));
  }
  return paths;
}

function resolve(obj: unknown, path: string): boolean {
  let cur: unknown = obj;
  for (const key of path.split('.')) {
    if (cur === null || typeof cur !== 'object' || Array.isArray(cur) || !Object.prototype.hasOwnProperty.call(cur, key)) return false;
    cur = (cur as Record<string, unknown>)[key];
  }
  return true;
}

/** Leaf keys of values.yaml: scalars, lists and empty maps. */
function leaves(obj: Record<string, unknown>, prefix = ''): string[] {
  return Object.entries(obj).flatMap(([k, v]) => {
    const path = prefix ? `${prefix}.${k}` : k;
    return v !== null && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length > 0
      ? leaves(v as Record<string, unknown>, path)
      : [path];
  });
}

const allActions = new Map([...templates].map(([f, text]) => [f, actions(f, text)]));
const usedPaths = [...new Set([...allActions.values()].flatMap(valuesPaths))].sort();

describe('helm chart templates', () => {
  it('has the templates the deployment needs', () => {
    for (const f of ['_helpers.tpl', 'deployment.yaml', 'worker-deployment.yaml', 'service.yaml', 'ingress.yaml', 'configmap.yaml',
      'secret.yaml', 'redis.yaml', 'serviceaccount.yaml', 'servicemonitor.yaml', 'pdb.yaml']) {
      expect(templateFiles).toContain(f);
    }
  });

  it.each(templateFiles)('%s has balanced {{ }} and if/range/with/define ... end blocks', (f) => {
    expect(() => checkBlocks(f, actions(f, templates.get(f)!))).not.toThrow();
  });

  it('the balance checker catches broken templates', () => {
    expect(() => actions('t', 'a: {{ .Values.x }')).toThrow(/never closed/);
    expect(() => actions('t', 'a: .Values.x }}')).toThrow(/without/);
    expect(() => checkBlocks('t', actions('t', '{{ if .Values.a }}x'))).toThrow(/if never ended/);
    expect(() => checkBlocks('t', actions('t', '{{ end }}'))).toThrow(/end without/);
    expect(() => checkBlocks('t', actions('t', '{{- define "x" }}{{ else }}{{ end }}'))).toThrow(/else outside/);
    expect(valuesPaths(actions('t', '{{/* .Values.ignored */}}{{- with $root.Values.a.b -}}{{ end }}'))).toEqual(['a.b']);
  });

  it('every .Values path a template uses exists in values.yaml', () => {
    const missing = usedPaths.filter((p) => !resolve(values, p));
    expect(missing).toEqual([]);
  });

  it('every values.yaml key is used by a template (itself or through a parent passed whole, e.g. to toYaml)', () => {
    const unused = leaves(values).filter(
      (leaf) => !(leaf in UNUSED_VALUES_ALLOWLIST) && !usedPaths.some((p) => leaf === p || leaf.startsWith(`${p}.`)),
    );
    expect(unused).toEqual([]);
    for (const key of Object.keys(UNUSED_VALUES_ALLOWLIST)) expect(resolve(values, key)).toBe(true);
  });

  it('every include names a defined template, defined once', () => {
    const defined = [...allActions.values()].flat().map((a) => /^define\s+"([^"]+)"/.exec(a.body)?.[1]).filter((n): n is string => !!n);
    expect(new Set(defined).size).toBe(defined.length);
    const included = [...allActions.values()].flat().flatMap((a) => [...a.body.matchAll(/include\s+"([^"]+)"/g)].map((m) => m[1]!));
    expect(included.filter((n) => !defined.includes(n))).toEqual([]);
  });

  it('sets only environment variables the app reads (src/config/settings.ts), and Secret keys are settings too', () => {
    // NODE_OPTIONS is read by Node itself (the heap cap), not by the app's settings.
    const known = new Set([...SETTINGS.flatMap((s) => s.env), 'NODE_OPTIONS']);
    const envNames = [...templates.get('_helpers.tpl')!.matchAll(/^- name: ([A-Z0-9_]+)$/gm)].map((m) => m[1]!);
    const secretKeys = [...templates.get('secret.yaml')!.matchAll(/^\s+([A-Z0-9_]+): \{\{/gm)].map((m) => m[1]!);
    expect(envNames.length).toBeGreaterThan(10);
    expect(secretKeys.length).toBeGreaterThan(5);
    expect([...envNames, ...secretKeys].filter((n) => !known.has(n))).toEqual([]);
    for (const s of SETTINGS.filter((spec) => spec.secret)) {
      // secret settings must never be plain env values in the Deployment
      expect(envNames.filter((n) => s.env.includes(n))).toEqual([]);
    }
  });

  it('gives pods longer to terminate than the app gives its jobs, and the default grace matches the app', () => {
    expect(templates.get('_helpers.tpl')).toMatch(/terminationGracePeriodSeconds: \{\{ add \(int \$root\.Values\.shutdownGraceSeconds\) 10 \}\}/);
    expect(templates.get('_helpers.tpl')).toMatch(/SHUTDOWN_GRACE_MS\n\s+value: \{\{ mul \(int \.Values\.shutdownGraceSeconds\) 1000/);
    const appDefault = (loadSettings({}, {}) as unknown as { shutdownGraceMs?: number }).shutdownGraceMs;
    if (appDefault !== undefined) expect((values.shutdownGraceSeconds as number) * 1000).toBe(appDefault);
  });

  it('probes the server on /healthz and /readyz', () => {
    const helpers = templates.get('_helpers.tpl')!;
    expect(helpers).toMatch(/livenessProbe:\n\s+httpGet:\n\s+path: \/healthz/);
    expect(helpers).toMatch(/readinessProbe:\n\s+httpGet:\n\s+path: \/readyz/);
  });
});

describe('helm chart values', () => {
  const ajv = new Ajv({ allErrors: true, strict: false });
  const validate = ajv.compile(schema);

  it('values.yaml validates against values.schema.json', () => {
    validate(values);
    expect(validate.errors ?? []).toEqual([]);
  });

  it.each([
    ['an unknown account mode', { azureDevOps: { accountMode: 'multi' } }],
    ['an unknown auth method', { azureDevOps: { authMethod: 'password' } }],
    ['an unknown log level', { logLevel: 'verbose' }],
    ['a misspelled top-level key', { replicas: 3 }],
    ['negative replicas', { server: { replicas: -1 } }],
    ['an organization that is not a URL', { azureDevOps: { organizations: ['acme'] } }],
    ['an app host that is not a URL', { appHost: 'sync.example.com' }],
    ['a non-string inline port-app-config', { portAppConfig: { inline: { resources: [] } } }],
    ['an unknown action identifier', { actions: { enabled: ['ado_delete_everything'] } }],
    ['a comma-separated string of actions', { actions: { enabled: 'ado_add_user,ado_remove_user' } }],
    ['a non-boolean allowDeprovision', { actions: { allowDeprovision: 'yes' } }],
    ['a Microsoft Graph URL that is not a URL', { actions: { microsoftGraphUrl: 'graph.microsoft.com' } }],
    ['multiple mode with a PAT', { azureDevOps: { accountMode: 'multiple', authMethod: 'pat', organizations: ['https://dev.azure.com/a'] } }],
    ['an incremental interval of 0 minutes (off is empty)', { resync: { incrementalMinutes: 0 } }],
    ['an incremental interval given as text', { resync: { incrementalMinutes: '15' } }],
  ])('the schema rejects %s', (_label, override) => {
    expect(validate(deepMerge(values, override))).toBe(false);
  });

  it.each([
    ['a PAT install', { azureDevOps: { organizations: ['https://dev.azure.com/acme'], personalAccessToken: 'x' }, redis: { url: 'redis://r:6379' } }],
    ['a service principal over several organizations', {
      azureDevOps: { accountMode: 'multiple', authMethod: 'client-secret', organizations: ['https://dev.azure.com/a', 'https://dev.azure.com/b'], tenantId: 't', clientId: 'c', clientSecret: 's' },
      redis: { bundled: { enabled: true } },
    }],
    ['an app host for the service-hook subscriptions', { appHost: 'https://ado-sync.example.com' }],
    ['every shipped action, with deprovisioning and a national-cloud Graph', { actions: {
      enabled: ['ado_add_group_member', 'ado_remove_group_member', 'ado_add_user', 'ado_change_access_level', 'ado_remove_user', 'ado_run_pipeline'],
      allowDeprovision: true, microsoftGraphUrl: 'https://graph.microsoft.us/v1.0',
    } }],
    ['extra settings via extraEnv', { extraEnv: [{ name: 'WORKER_CONCURRENCY', value: '4' }] }],
    ['an incremental resync every 15 minutes beside the full one', { resync: { intervalMinutes: 1440, incrementalMinutes: 15 } }],
    ['the incremental resync off (null)', { resync: { incrementalMinutes: null } }],
  ])('the schema accepts %s', (_label, override) => {
    expect(validate(deepMerge(values, override)) ? [] : validate.errors).toEqual([]);
  });

  it('every key in values.yaml outside lists has a comment line above it', () => {
    const lines = valuesText.split('\n');
    const undocumented: string[] = [];
    let prev = '';
    for (const [n, line] of lines.entries()) {
      if (/^\s*[A-Za-z][\w-]*:/.test(line) && !/^\s*#/.test(prev)) undocumented.push(`${n + 1}: ${line.trim()}`);
      if (line.trim() !== '') prev = line;
    }
    expect(undocumented).toEqual([]);
  });
});

describe('Chart.yaml', () => {
  const chart = yaml.load(readFileSync(join(chartDir, 'Chart.yaml'), 'utf8')) as Record<string, unknown>;
  it('has the fields Helm requires and sensible metadata', () => {
    expect(chart.apiVersion).toBe('v2');
    expect(chart.name).toBe('ado-catalog-sync');
    expect(String(chart.version)).toMatch(/^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?$/);
    expect(typeof chart.appVersion).toBe('string');
    expect(chart.type).toBe('application');
    expect(typeof chart.description).toBe('string');
  });
});

function deepMerge(base: unknown, override: unknown): unknown {
  if (base && override && typeof base === 'object' && typeof override === 'object' && !Array.isArray(base) && !Array.isArray(override)) {
    const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
    for (const [k, v] of Object.entries(override as Record<string, unknown>)) out[k] = deepMerge(out[k], v);
    return out;
  }
  return override;
}
