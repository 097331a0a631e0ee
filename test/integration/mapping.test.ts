import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { loadAppConfig, parseAppConfig } from '../../src/config/appConfig.js';
import { compileResource } from '../../src/mapping/compile.js';
import { ResourceMapper } from '../../src/mapping/engine.js';
import type { RawItem } from '../../src/kinds/types.js';
import { ROOT } from '../helpers/cli.js';
import { sampleBody } from '../helpers/samples.js';

const JQ = process.env.JQ_PATH ?? '/usr/bin/jq';

/** Evaluates one expression with the jq CLI, first output or null, as Ocean's per-field evaluation does. */
function jqCli(expr: string, item: unknown): unknown {
  const out = execFileSync(JQ, ['-c', `[first(${expr})] | .[0]`], { input: JSON.stringify(item) }).toString().trim();
  return JSON.parse(out);
}

function getPath(obj: unknown, path: Array<string | number>): unknown {
  return path.reduce<unknown>((o, k) => (o as Record<string | number, unknown> | undefined)?.[k], obj);
}

function resource(yaml: string) {
  return parseAppConfig(yaml, 'inline.yml').config.resources[0]!;
}

describe('mapping engine', () => {
  const config = loadAppConfig(resolve(ROOT, 'mappings/port-app-config.yml')).config;
  const prs: RawItem[] = sampleBody<{ value: RawItem[] }>('git/pullrequests-by-project.json').value.map((p) => ({ ...p, __organizationUrl: 'https://dev.azure.com/fabrikam' }));
  const repos: RawItem[] = sampleBody<{ value: RawItem[] }>('git/repositories-list.json').value.map((r) => ({ ...r, __includedFiles: { 'README.md': '# hi', CODEOWNERS: null } }));
  const projects = sampleBody<{ value: RawItem[] }>('core/projects-list.json').value;

  it.each([
    ['project', projects],
    ['repository', repos],
    ['pull-request', prs],
  ])('gives, field for field, what the jq CLI gives for the default %s mapping', async (kind, items) => {
    const res = config.resources.find((r) => r.kind === kind)!;
    const mapper = new ResourceMapper(res, { poolSize: 2 });
    try {
      const entities = await mapper.mapItems(items as RawItem[]);
      expect(entities).toHaveLength(items.length);
      const fields = compileResource(res).fields;
      entities.forEach((entity, i) => {
        for (const f of fields) expect([f.label, getPath(entity, f.path)]).toEqual([f.label, jqCli(f.expr, items[i])]);
      });
      expect(mapper.report.misconfiguredFields).toBe(0);
    } finally {
      await mapper.close();
    }
  });

  it('drops items whose query is not true, and counts them', async () => {
    const mapper = new ResourceMapper(
      resource(`resources:
  - kind: pull-request
    selector: { query: '.status == "active" and .pullRequestId > 21' }
    port: { entity: { mappings: { identifier: .pullRequestId | tostring, blueprint: '"pr"' } } }`),
      { poolSize: 1 },
    );
    try {
      const entities = await mapper.mapItems(prs);
      expect(entities.map((e) => e.identifier)).toEqual(['22']);
      expect(mapper.report.filtered).toBe(prs.length - 1);
    } finally {
      await mapper.close();
    }
  });

  it('sets a failing field to null, reports it once with its count, and keeps the entity', async () => {
    const mapper = new ResourceMapper(
      resource(`resources:
  - kind: repository
    selector: { query: 'true' }
    port:
      entity:
        mappings:
          identifier: .id
          blueprint: '"repo"'
          properties:
            broken: .name | error("bad " + .)
            multi: .project.id, .project.name
            missing: .nothing.here`),
      { poolSize: 1 },
    );
    try {
      const entities = await mapper.mapItems(repos);
      expect(entities).toHaveLength(repos.length);
      for (const [i, e] of entities.entries()) {
        expect(e.properties.broken).toBeNull();
        expect(e.properties.multi).toBe((repos[i]!.project as { id: string }).id); // first output only
        expect(e.properties.missing).toBeNull();
      }
      const err = mapper.report.fieldErrors.get('properties.broken');
      expect(err).toMatchObject({ expr: '.name | error("bad " + .)', count: repos.length });
      expect(err!.firstError).toMatch(/^bad /);
    } finally {
      await mapper.close();
    }
  });

  it('drops and reports entities without identifier or blueprint', async () => {
    const mapper = new ResourceMapper(
      resource(`resources:
  - kind: project
    selector: { query: 'true' }
    port: { entity: { mappings: { identifier: 'if .name | startswith("Fabrikam-Fiber-TFVC") then null else .id end', blueprint: '"p"' } } }`),
      { poolSize: 1 },
    );
    try {
      const entities = await mapper.mapItems(projects);
      expect(entities).toHaveLength(projects.length - 1);
      expect(mapper.report.dropReasons.get('identifier is empty')).toBe(1);
    } finally {
      await mapper.close();
    }
  });

  it('expands itemsToParse into one entity per element, with the element under .item and the array removed', async () => {
    const mapper = new ResourceMapper(
      resource(`resources:
  - kind: pull-request
    selector: { query: '.item.vote >= 0' }
    port:
      itemsToParse: .reviewers
      entity:
        mappings:
          identifier: (.pullRequestId | tostring) + "-" + .item.id
          blueprint: '"review"'
          properties:
            parentHasReviewers: has("reviewers")
            vote: .item.vote`),
      { poolSize: 1 },
    );
    try {
      const entities = await mapper.mapItems(prs);
      const expected = prs.reduce((n, p) => n + (p.reviewers as unknown[]).length, 0);
      expect(entities).toHaveLength(expected);
      expect(entities.every((e) => e.properties.parentHasReviewers === false)).toBe(true);
    } finally {
      await mapper.close();
    }
  });

  it('builds search-query relations from jq leaves', async () => {
    const mapper = new ResourceMapper(
      resource(`resources:
  - kind: pull-request
    selector: { query: 'true' }
    port:
      entity:
        mappings:
          identifier: .pullRequestId | tostring
          blueprint: '"pr"'
          relations:
            creator:
              combinator: '"and"'
              rules:
                - property: '"email"'
                  operator: '"="'
                  value: .createdBy.uniqueName`),
      { poolSize: 1 },
    );
    try {
      const [e] = await mapper.mapItems(prs.slice(0, 1));
      expect(e!.relations.creator).toEqual({ combinator: 'and', rules: [{ property: 'email', operator: '=', value: 'fabrikamfiber16@hotmail.com' }] });
    } finally {
      await mapper.close();
    }
  });

  it('replaces a jq process killed mid-stream and retries its batch, losing nothing', async () => {
    const res = resource(`resources:
  - kind: project
    selector: { query: 'true' }
    port: { entity: { mappings: { identifier: .id, blueprint: '"p"' } } }`);
    const mapper = new ResourceMapper(res, { poolSize: 1, batchSize: 50 });
    const items = Array.from({ length: 2000 }, (_, i) => ({ id: `p${i}`, pad: 'x'.repeat(500) }));
    async function* pages() {
      yield items.slice(0, 1000);
      process.kill(mapper.pids()[0]!, 'SIGKILL');
      yield items.slice(1000);
    }
    try {
      const out: string[] = [];
      for await (const page of mapper.mapPages(pages())) out.push(...page.map((e) => e.identifier as string));
      expect(out).toEqual(items.map((i) => i.id));
    } finally {
      await mapper.close();
    }
  });

  it('does not expose the worker environment (credentials) to jq', async () => {
    process.env.ADO_PERSONAL_ACCESS_TOKEN = 'super-secret-pat';
    const mapper = new ResourceMapper(
      resource(`resources:
  - kind: project
    selector: { query: 'true' }
    port: { entity: { mappings: { identifier: .id, blueprint: '"p"', properties: { leak: 'env.ADO_PERSONAL_ACCESS_TOKEN', leak2: '$ENV.ADO_PERSONAL_ACCESS_TOKEN' } } } }`),
      { poolSize: 1 },
    );
    try {
      const [e] = await mapper.mapItems(projects.slice(0, 1));
      expect(e!.properties).toEqual({ leak: null, leak2: null });
    } finally {
      delete process.env.ADO_PERSONAL_ACCESS_TOKEN;
      await mapper.close();
    }
  });
});

describe('single-quoted strings (Ocean rewrites them to double quotes)', () => {
  it.each([
    [".x // ''", '.x // ""'],
    [`.a == 'it"s'`, `.a == "it\\"s"`],
    [`"keep 'this'" + 'and'`, `"keep 'this'" + "and"`],
    [`"\\(.a + "'") x" + 'y'`, `"\\(.a + "'") x" + "y"`],
  ])('%s', async (input, expected) => {
    const { normalizeQuotes } = await import('../../src/mapping/quotes.js');
    expect(normalizeQuotes(input)).toBe(expected);
  });
});
