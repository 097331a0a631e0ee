import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadAppConfig, parseAppConfig, type ResourceConfig } from '../../src/config/appConfig.js';
import { ResourceMapper } from '../../src/mapping/engine.js';
import { ITEM_SAFE_BUILTINS, analyseProjection, projectionKeys } from '../../src/mapping/projection/analysis.js';
import { projectItem, type Projection } from '../../src/mapping/projection/project.js';
import type { RawItem } from '../../src/kinds/types.js';
import { pullRequestPayload } from '../../bench/prPayloads.js';
import { ROOT } from '../helpers/cli.js';

const JQ = process.env.JQ_PATH ?? '/usr/bin/jq';

describe('projectionKeys', () => {
  it.each([
    ['.a', ['a']],
    ['.a.b | gsub(" "; "")', ['a']],
    ['.fields."System.Title"', ['fields']],
    ['."odd key" + .["other key"]', ['odd key', 'other key']],
    ['.__includedFiles["README.md"]', ['__includedFiles']],
    ['{id, name, "x y", $__loc__}', ['id', 'name', 'x y']],
    ['{a: .b, (.c): .d, "e\\(.f)": .g}', ['b', 'c', 'd', 'f', 'g']],
    ['[.reviewers[]?.uniqueName]', ['reviewers']],
    ['.a as $x | $x.b', ['a']],
    ['.a as $x | .b | keys', ['a', 'b']],
    ['.a | .b as $x | keys', ['a']],
    ['if .a then .b elif .c then "d" else null end', ['a', 'b', 'c']],
    ['"\\(.a)-\\(.b | tostring)"', ['a', 'b']],
    ['@base64 "x\\(.a)"', ['a']],
    ['.x | @uri', ['x']],
    ['.a // "default"', ['a']],
    ['.items | map(select(.t == 1)) | length', ['items']],
    ['.a | to_entries | map(.key) | join(",")', ['a']],
    ['.a | if . == "x" then .. else . end', ['a']],
    ['.a | .[0], keys', ['a']],
    ['try (.a | tonumber) catch null', ['a']],
    ['first(.a, .b)', ['a', 'b']],
    ['[limit(2; .a[]?)]', ['a']],
    ['reduce .a[] as $v (0; 1)', ['a']],
    ['label $out | .a | ., break $out', ['a']],
    ['env.HOME, $ENV.HOME', []],
    ['.a | (.b = 1) | .c |= 2', ['a']],
    ['startswith("x"), split(","), type, not, now, first, error("e")', []],
    ['.a # a comment with . and keys\n| .b', ['a']],
    [`.${'long_'.repeat(60)} | .x`, ['long_'.repeat(60)]],
    ['.5 + 1e3 + 2.5E-2 + .a', ['a']],
    ['(.creationDate | sub("\\\\.[0-9]+Z$"; "Z") | fromdateiso8601) as $c | if .status == "completed" then $c else null end', ['creationDate', 'status']],
  ])('accepts %j and keeps what it reads', (expr, expected) => {
    const keys = projectionKeys([expr]);
    expect(keys).toBeDefined();
    for (const k of expected) expect(keys!.has(k)).toBe(true);
  });

  it.each([
    '.',
    '..',
    '.[]',
    '.[0]',
    '.[$k]',
    '.["a", "b"]',
    '."\\(.a)"',
    '.["\\(.a)"]',
    '. as $x | $x.a',
    '"\\(.)"',
    '@json',
    '@base64',
    '"x" + @json',
    'keys',
    'length',
    'tostring',
    'tojson',
    'to_entries',
    'has("a")',
    'getpath(["a"])',
    'paths',
    'select(.a) | .b',
    'ltrimstr("x")',
    'test("x")',
    'sub("a"; "b")',
    'split(","; "g")',
    'tonumber',
    'floor',
    'error',
    '.a as $x | keys',
    '.a as $x | select(.b)',
    'label $f | keys',
    'try keys catch 1',
    'if keys then 1 else 2 end',
    'if .a then 1 else keys end',
    '[keys]',
    '{a: keys}',
    '{a: 1, b: .c | 2, d: keys}',
    '.a[keys[0]]',
    '(.a | .b), keys',
    'f(.a)',
    'def f: .; f',
    'import "m" as m; .a',
    'include "m"; .a',
    'm::f',
    'input',
    '.a | input',
    '[inputs]',
    '$__prog_args',
    '{$__prog_args}',
    `.${'a'.repeat(300)} + keys`,
    '.a = 1',
    '.a |= 1',
    '.a += 1',
    '.a //= 1',
    '{"\\(.a)"}',
    '.a as [$x] | $x',
    '.a as {$b} | $b',
    '.a ?// .b',
    'reduce .a[] as $x (0; . + $x)',
    '.a # comment continued?\\\n| keys',
    '(.a',
    '.a)',
    '"unterminated',
    '.a | "\\(.b"',
    '."\\ud800"',
    '.a ! .b',
  ])('is unsure about %j', (expr) => {
    expect(projectionKeys(['.ok', expr])).toBeUndefined();
  });

  it('projects only the keys an item has, and leaves non-objects alone', () => {
    const projection: Projection = { keys: new Set(['a', '__proto__', 'missing']), nested: new Map() };
    const item = JSON.parse('{"a":1,"b":2,"__proto__":{"x":1}}') as unknown;
    expect(JSON.stringify(projectItem(item, projection))).toBe('{"a":1,"__proto__":{"x":1}}');
    expect(projectItem([1, 2], projection)).toEqual([1, 2]);
    expect(projectItem('s', projection)).toBe('s');
  });

  it('a nested __proto__ key is read like any other, and never invented when the item lacks it', () => {
    const p = analyseProjection(['."__proto__".x, .a.__proto__'])!;
    const has = JSON.parse('{"__proto__":{"x":1,"y":2},"a":{"__proto__":{"k":1},"b":2},"c":3}') as unknown;
    expect(JSON.stringify(projectItem(has, p))).toBe('{"__proto__":{"x":1},"a":{"__proto__":{"k":1}}}');
    expect(JSON.stringify(projectItem(JSON.parse('{"a":{"b":2}}'), p))).toBe('{"a":{}}');
    expect(JSON.stringify(projectItem({}, p))).toBe('{}');
  });

  it('keeps only the parts read as .k.j or .k[].j; any other read of .k keeps it whole', () => {
    const p = analyseProjection([
      '.a.b, .a.c?, .r[]?.n, .r[].m, (.w | .x), .o.p, .o[].q, ."s".t, .["u"].v, {z}, .z.y, (.y).q, .x[0].q, $__loc__.f.g, first(.f.g)',
      '.fields."System.Title", .fields."System.CreatedBy".displayName, [.list[]?."a b"]',
    ])!;
    const nested = Object.fromEntries([...p.nested].map(([k, v]) => [k, { fields: [...v.fields].sort(), elements: [...v.elements].sort() }]));
    expect(nested).toEqual({
      a: { fields: ['b', 'c'], elements: [] },
      r: { fields: [], elements: ['m', 'n'] },
      o: { fields: ['p'], elements: ['q'] },
      s: { fields: ['t'], elements: [] },
      u: { fields: ['v'], elements: [] },
      f: { fields: ['g'], elements: [] },
      fields: { fields: ['System.CreatedBy', 'System.Title'], elements: [] },
      list: { fields: [], elements: ['a b'] },
    });
    const item = {
      a: { b: 1, c: 2, d: 3 },
      r: [{ n: 1, m: 2, x: 3 }, 'str', [1]],
      o: { p: { q: 1, z: 2 }, other: { q: 3, z: 4 } },
      s: 'not an object',
      w: { x: 1, y: 2 },
      z: { y: 1, zz: 2 },
      dropped: 1,
    };
    const values = { ...item, r: { first: { n: 1, x: 2 }, second: 3 } };
    expect(JSON.parse(JSON.stringify(projectItem(item, p)))).toEqual({ a: { b: 1, c: 2 }, r: [{ n: 1, m: 2 }, 'str', [1]], o: item.o, s: 'not an object', w: item.w, z: item.z });
    expect(JSON.stringify((projectItem(values, p) as { r: unknown }).r)).toBe('{"first":{"n":1},"second":3}');
  });

  // Builtins allowed on a possible item must not let jq see anything but the keys read: same outputs and the same
  // error message whatever else the object holds (jq prints the start of the offending value in many messages).
  it.each([...ITEM_SAFE_BUILTINS].flatMap(([name, arities]) => arities.map((n) => [name, n] as const)))(
    'real jq: %s/%d gives the same on an item and on its projection',
    (name, arity) => {
      const args = (a: string) => `${name}(${Array(arity).fill(a).join('; ')})`;
      const calls = arity === 0 ? [name === 'now' ? '(now | type)' : name] : [args('.a'), args('"1"')];
      const whole = { zz: [1, { q: 2 }], a: 'x', b: { c: 'd' } };
      for (const call of calls) {
        const projection = analyseProjection([call]);
        expect(projection).toBeDefined();
        const run = (item: unknown) =>
          execFileSync(JQ, ['-c', `[limit(3; ${call})]? // "no output", (try ${call} catch ("error: " + tostring))`], { input: JSON.stringify(item) }).toString();
        expect(run(projectItem(whole, projection!))).toBe(run(whole));
      }
    },
  );
});

/** Items: every response body, list element and event resource of the Azure DevOps samples, and synthetic PRs. */
function sampleItems(): RawItem[] {
  const dir = resolve(ROOT, 'test/fixtures/ado-samples');
  const files: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (name.endsWith('.json')) files.push(p);
    }
  };
  walk(dir);
  const isObject = (v: unknown): v is RawItem => v !== null && typeof v === 'object' && !Array.isArray(v);
  const items: RawItem[] = [];
  for (const file of files) {
    const doc = JSON.parse(readFileSync(file, 'utf8').replace(/^\uFEFF/, '')) as RawItem;
    const bodies = isObject(doc.responses) ? Object.values(doc.responses).map((r) => (r as RawItem).body) : [doc];
    for (const body of bodies) {
      if (!isObject(body)) continue;
      items.push(body);
      if (Array.isArray(body.value)) items.push(...body.value.filter(isObject));
      if (isObject(body.resource)) items.push(body.resource);
    }
  }
  for (let i = 0; i < 30; i++) items.push(pullRequestPayload(i));
  items.push(JSON.parse('{"id": "proto-item", "__proto__": {"id": "inner"}, "zz": 1}') as RawItem);
  // Enrichment keys the mappings read, as strings, objects or absent, so expressions see all shapes.
  const names = ['__areaPaths', '__board', '__branch', '__build', '__codeCoverage', '__firstCommit', '__group', '__groups', '__includedFiles',
    '__members', '__normalizedPath', '__organizationName', '__organizationUrl', '__parentIdentifier', '__pattern', '__pipeline', '__project',
    '__projectId', '__projects', '__repository', '__repositoryId', '__stateType', '__teamId', '__testResults', '__timestamp', '__wiki'];
  return items.map((item, i) => {
    const extra: RawItem = {};
    for (const n of names) {
      if (i % 3 === 1) extra[n] = `${n} value ${i}`;
      if (i % 3 === 2) extra[n] = { id: `id ${i}`, name: `Name ${i}`, url: `https://dev.azure.com/o/_apis/x/${i}`, __project: { id: `p ${i}` }, 'README.md': '# hi' };
    }
    return { ...item, ...extra };
  });
}

/** Accepted shapes that go near the edges of the analysis, and shapes it must refuse. */
const TRICKY = `resources:
  - kind: repository
    selector: { query: '(.id // .name // .pullRequestId) != null' }
    port:
      entity:
        mappings:
          identifier: (.id // .name // .pullRequestId) | tostring
          title: '"\\(.name // .title)-\\(.id | tostring)"'
          blueprint: '"tricky"'
          properties:
            shorthand: '{id, name, "url"}'
            asBinding: .name as $n | if $n then ($n | ascii_downcase) else null end
            fieldsKeys: .fields | keys
            valueIds: '[.value[]?.id] | length'
            firstOf: first(.title, .name, .id)
            limited: '[limit(2; .reviewers[]?.uniqueName)]'
            reduced: reduce (.reviewers // [])[] as $r (0; 1)
            tryCatch: try (.id | tonumber) catch "not a number"
            errorMessage: .url | error("bad " + tostring)
            headType: '[type, not, env.NOPE, (startswith("x")?)]'
            headSplit: split(",")
            headFirst: first
            headFromdate: fromdate
            headStartswith: startswith("x")
            indexed: '.["_links"].web.href, ."__project".id'
            format: '@base64 "\\(.name)", (.url | @uri)'
            derivedDot: '.repository | if . then .. | strings else . end'
            proto: '."__proto__"'
            label: 'label $out | .status | ., break $out'
            nestedValues: '[.__project[]?.id]'
            nestedBoth: '[.__board.id, [.__board[]?.id]]'
            nestedArray: '[.value[]?.name]'
            nestedArrayField: .value.name
            nestedOptional: .createdBy?.uniqueName
            nestedQuoted: '."_links".web.href, .["fields"]."System.Title"'
            nestedQuotedOnly: '.__wiki."name", .__pipeline."README.md", [.__members[]?."id"], .__repository?."url"'
  - kind: release
    selector: { query: 'true' }
    port:
      itemsToParse: .value
      entity:
        mappings:
          identifier: (.item.id // .item.name // "none") | tostring
          blueprint: '"element"'
          properties:
            count: .count
            name: .item.name
            valueLeft: .value
  - kind: pull-request
    selector: { query: '.el != null' }
    port:
      itemsToParse: .reviewers
      itemsToParseName: el
      entity:
        mappings:
          identifier: (.pullRequestId | tostring) + "-" + .el.id
          blueprint: '"review"'
          properties:
            vote: .el.vote
            reviewersLeft: .reviewers
            title: .title
`;

describe('projection changes no output (real jq)', () => {
  const items = sampleItems();
  const files = ['mappings/port-app-config.yml', ...readdirSync(resolve(ROOT, 'mappings/examples')).sort().map((f) => `mappings/examples/${f}`)];
  const cases: Array<[string, ResourceConfig]> = [];
  for (const file of files) {
    loadAppConfig(resolve(ROOT, file)).config.resources.forEach((r, i) => cases.push([`${file} #${i} ${r.kind}`, r]));
  }
  parseAppConfig(TRICKY, 'tricky.yml').config.resources.forEach((r) => cases.push([`tricky ${r.kind}`, r]));

  it.each(cases)('%s: same entities and report with and without projection', async (_name, res) => {
    const projected = new ResourceMapper(res, { poolSize: 1, batchSize: 50 });
    const whole = new ResourceMapper(res, { poolSize: 1, batchSize: 50, projection: false });
    try {
      // Every resource of the shipped mappings and the tricky ones is accepted, so the comparison means something.
      expect(projected.projection).toBeDefined();
      expect(whole.projection).toBeUndefined();
      const [a, b] = await Promise.all([projected.mapItems(items), whole.mapItems(items)]);
      expect(a).toEqual(b);
      expect(projected.report.candidates).toBeGreaterThan(0);
      expect(projected.report).toEqual(whole.report);
    } finally {
      await Promise.all([projected.close(), whole.close()]);
    }
  });

  it('sends whole items when unsure', async () => {
    const res = parseAppConfig(
      `resources:
  - kind: project
    selector: { query: 'true' }
    port: { entity: { mappings: { identifier: 'keys | join(",")', blueprint: '"u"' } } }`,
      'unsure.yml',
    ).config.resources[0]!;
    const mapper = new ResourceMapper(res, { poolSize: 1 });
    try {
      expect(mapper.projection).toBeUndefined();
      const [e] = await mapper.mapItems([{ b: 1, a: 2 }]);
      expect(e!.identifier).toBe('a,b');
    } finally {
      await mapper.close();
    }
  });
});
