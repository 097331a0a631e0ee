/**
 * Renders helm/ado-catalog-sync with a small Go-template interpreter (the subset and Sprig functions the chart
 * uses; no helm binary here) and parses the output as Kubernetes YAML, for the installs the README describes.
 * It catches indentation mistakes and wrong wiring that the static cross-checks in helmChart.test.ts cannot see.
 * A function or construct the interpreter does not know fails the test: extend the interpreter, do not skip.
 */
import { describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import yaml from 'js-yaml';

const chartDir = join(process.cwd(), 'helm', 'ado-catalog-sync');
const chart = yaml.load(readFileSync(join(chartDir, 'Chart.yaml'), 'utf8')) as Record<string, string>;
const defaults = yaml.load(readFileSync(join(chartDir, 'values.yaml'), 'utf8')) as Record<string, unknown>;

// ---------------------------------------------------------------- parser
type Node =
  | { t: 'text'; s: string }
  | { t: 'action'; p: string }
  | { t: 'if' | 'with' | 'range'; branches: { cond: string | null; body: Node[] }[] }
  | { t: 'define'; name: string; body: Node[] };

function lex(src: string): ({ t: 'text'; s: string } | { t: 'act'; s: string })[] {
  const out: ({ t: 'text'; s: string } | { t: 'act'; s: string })[] = [];
  let i = 0;
  let trimNext = false;
  while (i < src.length) {
    const open = src.indexOf('{{', i);
    let text = src.slice(i, open === -1 ? src.length : open);
    if (trimNext) text = text.replace(/^\s+/, '');
    if (open === -1) {
      out.push({ t: 'text', s: text });
      break;
    }
    let start = open + 2;
    if (src[start] === '-' && /\s/.test(src[start + 1]!)) {
      text = text.replace(/\s+$/, '');
      start += 2;
    }
    out.push({ t: 'text', s: text });
    const isComment = src.slice(start).trimStart().startsWith('/*');
    const close = src.indexOf('}}', isComment ? src.indexOf('*/', start) : start);
    let body = src.slice(start, close);
    trimNext = /\s-$/.test(body);
    if (trimNext) body = body.slice(0, -2);
    if (!isComment) out.push({ t: 'act', s: body.trim() });
    i = close + 2;
  }
  return out;
}

function parse(src: string, defines: Map<string, Node[]>): Node[] {
  const tokens = lex(src);
  let pos = 0;
  function block(): { nodes: Node[]; stop: string } {
    const nodes: Node[] = [];
    while (pos < tokens.length) {
      const tok = tokens[pos++]!;
      if (tok.t === 'text') {
        if (tok.s) nodes.push({ t: 'text', s: tok.s });
        continue;
      }
      const [kw = '', ...rest] = tok.s.split(/\s+/);
      const arg = rest.join(' ');
      if (kw === 'end' || kw === 'else') return { nodes, stop: tok.s };
      if (kw === 'if' || kw === 'with' || kw === 'range') {
        const branches: { cond: string | null; body: Node[] }[] = [];
        let cond: string | null = arg;
        for (;;) {
          const { nodes: body, stop } = block();
          branches.push({ cond, body });
          if (stop === 'end') break;
          if (stop === 'else') cond = null;
          else if (stop.startsWith('else if ')) cond = stop.slice('else if '.length);
          else throw new Error(`unexpected ${stop}`);
        }
        nodes.push({ t: kw, branches });
      } else if (kw === 'define') {
        const name = JSON.parse(arg) as string;
        const { nodes: body } = block();
        defines.set(name, body);
      } else nodes.push({ t: 'action', p: tok.s });
    }
    return { nodes, stop: '' };
  }
  return block().nodes;
}

// ---------------------------------------------------------------- evaluator
type Scope = { vars: Map<string, unknown>; parent?: Scope };
const lookupVar = (s: Scope | undefined, name: string): unknown => {
  for (let c = s; c; c = c.parent) if (c.vars.has(name)) return c.vars.get(name);
  throw new Error(`undefined variable ${name}`);
};
const truthy = (v: unknown): boolean =>
  !(v === undefined || v === null || v === false || v === 0 || v === '' ||
    (Array.isArray(v) && v.length === 0) || (typeof v === 'object' && !Array.isArray(v) && Object.keys(v as object).length === 0));
const str = (v: unknown): string => (v === undefined || v === null ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v));

class Renderer {
  readonly defines = new Map<string, Node[]>();
  readonly files = new Map<string, Node[]>();

  constructor(readonly basePath: string) {}

  add(name: string, src: string): void {
    this.files.set(name, parse(src, this.defines));
  }

  renderFile(name: string, root: Record<string, unknown>): string {
    return this.exec(this.files.get(name)!, root, { vars: new Map([['$', root]]) });
  }

  exec(nodes: Node[], dot: unknown, scope: Scope): string {
    let out = '';
    for (const n of nodes) {
      if (n.t === 'text') out += n.s;
      else if (n.t === 'action') {
        const m = /^(\$\w+)\s*:=\s*(.*)$/s.exec(n.p);
        if (m) scope.vars.set(m[1]!, this.pipeline(m[2]!, dot, scope));
        else out += str(this.pipeline(n.p, dot, scope));
      } else if (n.t === 'define') continue;
      else {
        for (const b of n.branches) {
          const inner: Scope = { vars: new Map(), parent: scope };
          if (b.cond === null) {
            out += this.exec(b.body, dot, inner);
            break;
          }
          const v = this.pipeline(b.cond, dot, inner);
          if (!truthy(v)) continue;
          if (n.t === 'if') out += this.exec(b.body, dot, inner);
          else if (n.t === 'with') out += this.exec(b.body, v, inner);
          else for (const item of Object.values(v as object)) out += this.exec(b.body, item, { vars: new Map(), parent: scope });
          break;
        }
      }
    }
    return out;
  }

  pipeline(src: string, dot: unknown, scope: Scope): unknown {
    const toks = src.match(/"(?:[^"\\]|\\.)*"|\(|\)|\||\$?[\w.$]*[\w$]|\.|-?\d+/g) ?? [];
    let i = 0;
    const operand = (): unknown => {
      const tk = toks[i++]!;
      if (tk === '(') {
        const v = pipe();
        if (toks[i++] !== ')') throw new Error(`missing ) in ${src}`);
        return v;
      }
      if (tk.startsWith('"')) return JSON.parse(tk);
      if (/^-?\d+$/.test(tk)) return Number(tk);
      if (tk === 'true' || tk === 'false') return tk === 'true';
      if (tk === '.') return dot;
      if (tk.startsWith('.') || tk.startsWith('$')) {
        const [head, ...fields] = tk.split('.');
        let v: unknown = head === '' ? dot : lookupVar(scope, head!);
        for (const f of fields) {
          if (v === undefined || v === null) throw new Error(`nil pointer evaluating ${tk}`);
          v = (v as Record<string, unknown>)[f];
        }
        return v;
      }
      throw new Error(`unexpected ${tk} in ${src}`);
    };
    const command = (piped: unknown[]): unknown => {
      const tk = toks[i]!;
      if (/^[a-zA-Z]\w*$/.test(tk) && !['true', 'false'].includes(tk)) {
        i++;
        const args: unknown[] = [];
        while (i < toks.length && toks[i] !== '|' && toks[i] !== ')') args.push(operand());
        return this.call(tk, [...args, ...piped]);
      }
      return operand();
    };
    const pipe = (): unknown => {
      let v = command([]);
      while (toks[i] === '|') {
        i++;
        v = command([v]);
      }
      return v;
    };
    const v = pipe();
    if (i !== toks.length) throw new Error(`trailing tokens in ${src}`);
    return v;
  }

  call(fn: string, a: unknown[]): unknown {
    const s = (k: number) => str(a[k]);
    switch (fn) {
      case 'include': {
        const body = this.defines.get(s(0));
        if (body) return this.exec(body, a[1], { vars: new Map([['$', a[1]]]) });
        const file = this.files.get(s(0));
        if (!file) throw new Error(`no template ${s(0)}`);
        return this.exec(file, a[1], { vars: new Map([['$', a[1]]]) });
      }
      case 'nindent': return '\n' + this.call('indent', a);
      case 'indent': return s(1).split('\n').map((l) => ' '.repeat(Number(a[0])) + l).join('\n');
      case 'toYaml': return yaml.dump(a[0] ?? null, { lineWidth: -1 }).replace(/\n$/, '');
      case 'quote': return JSON.stringify(s(0));
      case 'default': return truthy(a[1]) ? a[1] : a[0];
      case 'trunc': return s(1).slice(0, Number(a[0]));
      case 'trimSuffix': return s(1).endsWith(s(0)) ? s(1).slice(0, -s(0).length || undefined) : s(1);
      case 'printf': { let k = 1; return s(0).replace(/%[sdv]/g, () => s(k++)); }
      case 'print': return a.map(str).join('');
      case 'contains': return s(1).includes(s(0));
      case 'replace': return s(2).split(s(0)).join(s(1));
      case 'sha256sum': return createHash('sha256').update(s(0)).digest('hex');
      case 'dict': { const o: Record<string, unknown> = {}; for (let k = 0; k < a.length; k += 2) o[s(k)] = a[k + 1]; return o; }
      case 'first': return (a[0] as unknown[])[0];
      case 'join': return (a[1] as unknown[]).map(str).join(s(0));
      case 'eq': return a[0] === a[1];
      case 'gt': return Number(a[0]) > Number(a[1]);
      case 'len': return Array.isArray(a[0]) ? a[0].length : typeof a[0] === 'string' ? a[0].length : Object.keys(a[0] as object).length;
      case 'int': return Math.trunc(Number(a[0] ?? 0));
      case 'mul': return Number(a[0]) * Number(a[1]);
      case 'add': return Number(a[0]) + Number(a[1]);
      case 'and': return a.find((v) => !truthy(v)) ?? a[a.length - 1];
      case 'or': return a.find((v) => truthy(v)) ?? a[a.length - 1];
      case 'not': return !truthy(a[0]);
      case 'fail': throw new Error(`fail: ${s(0)}`);
      default: throw new Error(`function ${fn} is not implemented by this test's interpreter`);
    }
  }
}

// ---------------------------------------------------------------- rendering the chart
interface K8sDoc { apiVersion: string; kind: string; metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> }; [k: string]: unknown }

function merge(base: unknown, over: unknown): unknown {
  if (base && over && typeof base === 'object' && typeof over === 'object' && !Array.isArray(base) && !Array.isArray(over)) {
    const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
    for (const [k, v] of Object.entries(over as Record<string, unknown>)) out[k] = merge(out[k], v);
    return out;
  }
  return over;
}

function render(overrides: Record<string, unknown>): { docs: K8sDoc[]; notes: string } {
  const basePath = 'ado-catalog-sync/templates';
  const r = new Renderer(basePath);
  const files = readdirSync(join(chartDir, 'templates')).sort();
  for (const f of files) r.add(`${basePath}/${f}`, readFileSync(join(chartDir, 'templates', f), 'utf8'));
  const root = {
    Values: merge(defaults, overrides),
    Release: { Name: 'rel', Namespace: 'ns', Service: 'Helm' },
    Chart: { Name: chart.name, Version: chart.version, AppVersion: chart.appVersion },
    Template: { BasePath: basePath },
  };
  const docs: K8sDoc[] = [];
  let notes = '';
  for (const f of files.filter((n) => !n.startsWith('_'))) {
    const text = r.renderFile(`${basePath}/${f}`, root);
    // HELM_RENDER_DUMP=1 prints what the interpreter rendered, for debugging a template.
    if (process.env.HELM_RENDER_DUMP) process.stderr.write(`# ---- ${f}\n${text}\n`);
    if (f === 'NOTES.txt') {
      notes = text;
      continue;
    }
    for (const part of text.split(/^---$/m)) {
      let doc: unknown;
      try {
        doc = yaml.load(part);
      } catch (err) {
        throw new Error(`${f} renders invalid YAML: ${(err as Error).message}\n${part}`);
      }
      if (doc) docs.push(doc as K8sDoc);
    }
  }
  return { docs, notes };
}

const find = (docs: K8sDoc[], kind: string, name?: string) => docs.filter((d) => d.kind === kind && (!name || d.metadata.name === name));
type Container = { name: string; args: string[]; env: { name: string; value?: string }[]; envFrom: { secretRef: { name: string } }[]; [k: string]: unknown };
type PodSpec = { containers: Container[]; volumes: { name: string; configMap?: { name: string } }[]; [k: string]: unknown };
const podSpec = (d: K8sDoc) => (d.spec as { template: { spec: PodSpec; metadata: { labels: Record<string, string> } } }).template;
const envOf = (c: Container) => Object.fromEntries(c.env.map((e) => [e.name, e.value]));

const PAT = {
  azureDevOps: { organizations: ['https://dev.azure.com/acme'], personalAccessToken: 'pat-value' },
  port: { clientId: 'pid', clientSecret: 'psecret' },
  redis: { url: 'redis://:pw@redis.example:6379/0' },
};
const SERVICE_PRINCIPAL = {
  azureDevOps: {
    accountMode: 'multiple', authMethod: 'client-secret', tenantId: 'tenant', clientId: 'client', clientSecret: 'sp-secret',
    organizations: ['https://dev.azure.com/a', 'https://dev.azure.com/b'],
  },
  port: { clientId: 'pid', clientSecret: 'psecret' },
  redis: { bundled: { enabled: true, persistence: { enabled: true } } },
  worker: { enabled: true, replicas: 3 },
  ingress: { enabled: true, className: 'nginx', tlsSecretName: 'tls' },
  serviceMonitor: { enabled: true, labels: { release: 'prom' } },
  portAppConfig: { inline: 'resources:\n  - kind: project\n    selector:\n      query: "true"\n' },
  workloadIdentity: { enabled: true },
  extraEnv: [{ name: 'WORKER_CONCURRENCY', value: '4' }],
  webhookSecret: 'hook',
};

describe('helm chart rendered (test interpreter)', () => {
  it('renders a minimal PAT install into valid Kubernetes objects', () => {
    const { docs, notes } = render(PAT);
    expect(docs.map((d) => `${d.kind}/${d.metadata.name}`).sort()).toEqual([
      'Deployment/rel-ado-catalog-sync', 'PodDisruptionBudget/rel-ado-catalog-sync', 'Secret/rel-ado-catalog-sync',
      'Service/rel-ado-catalog-sync', 'ServiceAccount/rel-ado-catalog-sync',
    ]);
    for (const d of docs) {
      expect(d.apiVersion).toBeTruthy();
      expect(d.metadata.labels?.['app.kubernetes.io/instance']).toBe('rel');
    }
    const dep = find(docs, 'Deployment')[0]!;
    const pod = podSpec(dep);
    const c = pod.spec.containers[0]!;
    expect(c.args).toEqual(['serve']);
    expect(envOf(c)).toMatchObject({
      ADO_ORGANIZATION_URL: 'https://dev.azure.com/acme', ADO_ACCOUNT_MODE: 'single',
      SERVER_PORT: '8000', SHUTDOWN_GRACE_MS: '25000', RESYNC_INTERVAL_MINUTES: '1440', RESYNC_ON_START: 'true', LOG_LEVEL: 'info',
    });
    expect(envOf(c)).not.toHaveProperty('ADO_PERSONAL_ACCESS_TOKEN');
    expect(envOf(c)).not.toHaveProperty('PORT_APP_CONFIG');
    expect(envOf(c)).not.toHaveProperty('ADO_AUTH_METHOD'); // the app's default for single mode: pat
    expect(c.envFrom[0]!.secretRef.name).toBe('rel-ado-catalog-sync');
    expect(c).toMatchObject({
      ports: [{ name: 'http', containerPort: 8000 }],
      livenessProbe: { httpGet: { path: '/healthz', port: 'http' } },
      readinessProbe: { httpGet: { path: '/readyz', port: 'http' } },
      securityContext: { readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
    });
    expect(pod.spec).toMatchObject({ terminationGracePeriodSeconds: 35, serviceAccountName: 'rel-ado-catalog-sync', securityContext: { runAsNonRoot: true, runAsUser: 1000 } });
    expect((dep.spec as { replicas: number }).replicas).toBe(2);
    const secret = find(docs, 'Secret')[0]!;
    expect(secret.stringData).toEqual({
      ADO_PERSONAL_ACCESS_TOKEN: 'pat-value', PORT_CLIENT_ID: 'pid', PORT_CLIENT_SECRET: 'psecret', REDIS_URL: 'redis://:pw@redis.example:6379/0',
    });
    expect(find(docs, 'Service')[0]!.spec).toMatchObject({ ports: [{ port: 80, targetPort: 'http' }] });
    expect(notes).toContain('http://rel-ado-catalog-sync.ns.svc:80/webhooks/azure-devops');
  });

  it('renders a service principal install over several organizations with every option on', () => {
    const { docs } = render(SERVICE_PRINCIPAL);
    expect(docs.map((d) => `${d.kind}/${d.metadata.name}`).sort()).toEqual([
      'ConfigMap/rel-ado-catalog-sync-config', 'Deployment/rel-ado-catalog-sync', 'Deployment/rel-ado-catalog-sync-worker',
      'Ingress/rel-ado-catalog-sync', 'PodDisruptionBudget/rel-ado-catalog-sync', 'PodDisruptionBudget/rel-ado-catalog-sync-worker',
      'Secret/rel-ado-catalog-sync', 'Service/rel-ado-catalog-sync', 'Service/rel-ado-catalog-sync-redis',
      'ServiceAccount/rel-ado-catalog-sync', 'ServiceMonitor/rel-ado-catalog-sync', 'StatefulSet/rel-ado-catalog-sync-redis',
    ]);
    const server = podSpec(find(docs, 'Deployment', 'rel-ado-catalog-sync')[0]!);
    const env = envOf(server.spec.containers[0]!);
    expect(env).toMatchObject({
      ADO_ACCOUNT_MODE: 'multiple', ADO_AUTH_METHOD: 'client-secret', ADO_ORGANIZATION_URLS: 'https://dev.azure.com/a,https://dev.azure.com/b',
      ADO_TENANT_ID: 'tenant', ADO_CLIENT_ID: 'client', REDIS_URL: 'redis://rel-ado-catalog-sync-redis:6379',
      PORT_APP_CONFIG: '/etc/ado-catalog-sync/port-app-config.yml', WORKER_CONCURRENCY: '4',
    });
    expect(env).not.toHaveProperty('ADO_ORGANIZATION_URL');
    expect(server.metadata.labels['azure.workload.identity/use']).toBe('true');
    expect(server.spec.volumes.find((v) => v.name === 'port-app-config')?.configMap?.name).toBe('rel-ado-catalog-sync-config');
    const worker = podSpec(find(docs, 'Deployment', 'rel-ado-catalog-sync-worker')[0]!);
    expect(worker.spec.containers[0]!.args).toEqual(['worker']);
    expect(worker.spec.containers[0]).not.toHaveProperty('livenessProbe');
    expect(worker.metadata.labels['app.kubernetes.io/component']).toBe('worker');
    const cm = find(docs, 'ConfigMap')[0]!;
    expect(yaml.load((cm.data as Record<string, string>)['port-app-config.yml']!)).toEqual({ resources: [{ kind: 'project', selector: { query: 'true' } }] });
    expect((find(docs, 'Secret')[0]!.stringData as Record<string, string>)).toEqual({
      ADO_CLIENT_SECRET: 'sp-secret', PORT_CLIENT_ID: 'pid', PORT_CLIENT_SECRET: 'psecret', WEBHOOK_SECRET: 'hook',
    });
    expect(find(docs, 'Ingress')[0]!.spec).toMatchObject({
      ingressClassName: 'nginx', tls: [{ hosts: ['ado-sync.example.com'], secretName: 'tls' }],
      rules: [{ host: 'ado-sync.example.com', http: { paths: [{ path: '/webhooks', pathType: 'Prefix', backend: { service: { name: 'rel-ado-catalog-sync', port: { name: 'http' } } } }] } }],
    });
    expect(find(docs, 'ServiceAccount')[0]!.metadata.annotations).toEqual({ 'azure.workload.identity/client-id': 'client', 'azure.workload.identity/tenant-id': 'tenant' });
    expect(find(docs, 'ServiceMonitor')[0]).toMatchObject({ metadata: { labels: { release: 'prom' } }, spec: { endpoints: [{ port: 'http', path: '/metrics' }] } });
    const redis = find(docs, 'StatefulSet')[0]!;
    expect(redis.spec).toMatchObject({ volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: { resources: { requests: { storage: '1Gi' } } } }] });
    expect(JSON.stringify(redis.spec)).toContain('noeviction');
  });

  it('uses an existing Secret and ConfigMap instead of creating them', () => {
    const { docs } = render({ ...PAT, existingSecret: 'creds', portAppConfig: { existingConfigMap: 'mapping', inline: 'ignored: true' } });
    expect(find(docs, 'Secret')).toEqual([]);
    expect(find(docs, 'ConfigMap')).toEqual([]);
    const pod = podSpec(find(docs, 'Deployment')[0]!);
    expect(pod.spec.containers[0]!.envFrom[0]!.secretRef.name).toBe('creds');
    expect(pod.spec.volumes.find((v) => v.name === 'port-app-config')?.configMap?.name).toBe('mapping');
  });

  it('refuses an install without Redis, single mode with several organizations, and multiple mode with a PAT', () => {
    expect(() => render({ azureDevOps: { organizations: ['https://dev.azure.com/acme'] } })).toThrow(/Redis is required/);
    expect(() => render({ ...PAT, azureDevOps: { organizations: ['https://dev.azure.com/a', 'https://dev.azure.com/b'] } })).toThrow(/accountMode single takes one organization/);
    expect(() => render(merge(SERVICE_PRINCIPAL, { azureDevOps: { authMethod: 'pat' } }) as Record<string, unknown>)).toThrow(/multiple needs an Entra ID credential/);
  });

  it('stores metricsToken as METRICS_TOKEN and has the ServiceMonitor send it as a bearer token', () => {
    const monitor = (values: Record<string, unknown>) => find(render(values).docs, 'ServiceMonitor')[0]!.spec as { endpoints: Array<Record<string, unknown>> };
    const withToken = merge(SERVICE_PRINCIPAL, { metricsToken: 'scrape-me' }) as Record<string, unknown>;
    expect((find(render(withToken).docs, 'Secret')[0]!.stringData as Record<string, string>).METRICS_TOKEN).toBe('scrape-me');
    const bearer = { type: 'Bearer', credentials: { name: 'rel-ado-catalog-sync', key: 'METRICS_TOKEN' } };
    expect(monitor(withToken).endpoints[0]!.authorization).toEqual(bearer);
    // No token: /metrics is open and the ServiceMonitor sends none.
    expect(monitor(SERVICE_PRINCIPAL).endpoints[0]).not.toHaveProperty('authorization');
    expect(find(render(SERVICE_PRINCIPAL).docs, 'Secret')[0]!.stringData).not.toHaveProperty('METRICS_TOKEN');
    // An existing Secret: only when told that it holds METRICS_TOKEN.
    const existing = { ...SERVICE_PRINCIPAL, existingSecret: 'creds' };
    expect(monitor(existing).endpoints[0]).not.toHaveProperty('authorization');
    expect(monitor(merge(existing, { serviceMonitor: { metricsTokenFromExistingSecret: true } }) as Record<string, unknown>).endpoints[0]!.authorization).toEqual({ ...bearer, credentials: { name: 'creds', key: 'METRICS_TOKEN' } });
    // The token is never a plain environment value of a pod.
    expect(JSON.stringify(find(render(withToken).docs, 'Deployment'))).not.toContain('scrape-me');
  });

  it('leaves Port actions off by default: no /actions/port path, no ACTIONS_* environment, nothing in NOTES', () => {
    const { docs, notes } = render(SERVICE_PRINCIPAL);
    const paths = (find(docs, 'Ingress')[0]!.spec as { rules: { http: { paths: { path: string }[] } }[] }).rules[0]!.http.paths;
    expect(paths.map((p) => p.path)).toEqual(['/webhooks']);
    for (const d of find(docs, 'Deployment')) {
      const env = envOf(podSpec(d).spec.containers[0]!);
      for (const name of ['ACTIONS_ENABLED', 'ACTIONS_ALLOW_DEPROVISION', 'MICROSOFT_GRAPH_URL']) expect(env).not.toHaveProperty(name);
    }
    expect(notes).not.toContain('/actions/port');
  });

  it('enables Port actions: ACTIONS_* on the server and worker pods, /actions/port on the Ingress, the install hint in NOTES', () => {
    const values = merge(SERVICE_PRINCIPAL, {
      actions: { enabled: ['ado_add_group_member', 'ado_run_pipeline'], allowDeprovision: true, microsoftGraphUrl: 'https://graph.microsoft.us/v1.0' },
    }) as Record<string, unknown>;
    const { docs, notes } = render(values);
    const deployments = find(docs, 'Deployment');
    expect(deployments.map((d) => d.metadata.name).sort()).toEqual(['rel-ado-catalog-sync', 'rel-ado-catalog-sync-worker']);
    for (const d of deployments) {
      expect(envOf(podSpec(d).spec.containers[0]!)).toMatchObject({
        ACTIONS_ENABLED: 'ado_add_group_member,ado_run_pipeline', ACTIONS_ALLOW_DEPROVISION: 'true', MICROSOFT_GRAPH_URL: 'https://graph.microsoft.us/v1.0',
      });
    }
    const backend = { service: { name: 'rel-ado-catalog-sync', port: { name: 'http' } } };
    expect((find(docs, 'Ingress')[0]!.spec as { rules: unknown[] }).rules).toEqual([{
      host: 'ado-sync.example.com',
      http: { paths: [{ path: '/webhooks', pathType: 'Prefix', backend }, { path: '/actions/port', pathType: 'Exact', backend }] },
    }]);
    expect(notes).toContain('ado-sync actions install --app-host https://ado-sync.example.com');
    expect(notes).toContain('https://ado-sync.example.com/actions/port');
    // allowDeprovision and the Graph URL stay unset unless given; appHost wins over the Ingress host in NOTES.
    const minimal = render({ ...PAT, appHost: 'https://sync.example.org/', actions: { enabled: ['ado_run_pipeline'] } });
    const env = envOf(podSpec(find(minimal.docs, 'Deployment')[0]!).spec.containers[0]!);
    expect(env).toMatchObject({ ACTIONS_ENABLED: 'ado_run_pipeline' });
    expect(env).not.toHaveProperty('ACTIONS_ALLOW_DEPROVISION');
    expect(env).not.toHaveProperty('MICROSOFT_GRAPH_URL');
    expect(find(minimal.docs, 'Ingress')).toEqual([]);
    expect(minimal.notes).toContain('`ado-sync actions install --app-host https://sync.example.org` to create them in Port');
    expect(minimal.notes).toContain('runs to https://sync.example.org/actions/port');
  });

  it('refuses actions without Port credentials unless they come from an existing Secret', () => {
    const actions = { enabled: ['ado_add_group_member'] };
    expect(() => render({ ...PAT, port: { clientId: '', clientSecret: '' }, actions })).toThrow(/actions\.enabled needs the Port credentials/);
    expect(() => render({ ...PAT, port: { clientId: 'pid', clientSecret: '' }, actions })).toThrow(/actions\.enabled needs the Port credentials/);
    // The chart cannot see into an existing Secret (or extraEnvFrom sources): it trusts them.
    expect(() => render({ ...PAT, port: { clientId: '', clientSecret: '' }, existingSecret: 'creds', actions })).not.toThrow();
    expect(() => render({ ...PAT, port: { clientId: '', clientSecret: '' }, extraEnvFrom: [{ secretRef: { name: 'port' } }], actions })).not.toThrow();
    // Without actions, missing Port credentials are the app's business, as before.
    expect(() => render({ ...PAT, port: { clientId: '', clientSecret: '' } })).not.toThrow();
  });

  it('passes resync.incrementalMinutes as RESYNC_INCREMENTAL_MINUTES to the server and worker pods, and nothing when it is empty', () => {
    const on = render(merge(SERVICE_PRINCIPAL, { resync: { incrementalMinutes: 15 } }) as Record<string, unknown>);
    const deployments = find(on.docs, 'Deployment');
    expect(deployments.map((d) => d.metadata.name).sort()).toEqual(['rel-ado-catalog-sync', 'rel-ado-catalog-sync-worker']);
    for (const d of deployments) {
      // Beside the full schedule, which keeps its own variable.
      expect(envOf(podSpec(d).spec.containers[0]!)).toMatchObject({ RESYNC_INCREMENTAL_MINUTES: '15', RESYNC_INTERVAL_MINUTES: '1440' });
    }
    for (const values of [SERVICE_PRINCIPAL, merge(SERVICE_PRINCIPAL, { resync: { incrementalMinutes: '' } }) as Record<string, unknown>, merge(SERVICE_PRINCIPAL, { resync: { incrementalMinutes: null } }) as Record<string, unknown>]) {
      for (const d of find(render(values).docs, 'Deployment')) expect(envOf(podSpec(d).spec.containers[0]!)).not.toHaveProperty('RESYNC_INCREMENTAL_MINUTES');
    }
  });

  it('changes the pod template when the secret changes, so a credential rotation rolls the pods', () => {
    const a = podSpec(find(render(PAT).docs, 'Deployment')[0]!).metadata as unknown as { annotations: Record<string, string> };
    const b = podSpec(find(render(merge(PAT, { azureDevOps: { personalAccessToken: 'rotated' } }) as Record<string, unknown>).docs, 'Deployment')[0]!).metadata as unknown as { annotations: Record<string, string> };
    expect(a.annotations['checksum/secret']).toMatch(/^[0-9a-f]{64}$/);
    expect(a.annotations['checksum/secret']).not.toBe(b.annotations['checksum/secret']);
  });
});
