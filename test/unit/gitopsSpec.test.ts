import { describe, expect, it } from '@jest/globals';
import { parseSpecFile, resolveSpecReference, type RepoFileReader } from '../../src/kinds/shared/gitopsSpec.js';

/** A repository at one commit: path → text; records what was read. */
function repo(files: Record<string, string>): RepoFileReader & { reads: string[] } {
  const reads: string[] = [];
  const read = async (path: string) => {
    reads.push(path);
    return files[path];
  };
  return Object.assign(read, { reads });
}

const none = repo({});

// The documented port.yml examples (Port's Azure DevOps GitOps page): one entity, and a list of entities.
const SINGLE = `identifier: myEntity
title: My Entity
blueprint: myBlueprint
properties:
  myStringProp: myValue
  myNumberProp: 5
  myUrlProp: https://example.com
relations:
  mySingleRelation: myTargetEntity
  myManyRelation:
    - myTargetEntity1
    - myTargetEntity2
`;

const MULTIPLE = `- identifier: myEntity1
  title: My Entity1
  blueprint: myFirstBlueprint
  properties:
    myStringProp: myValue
    myNumberProp: 5
    myUrlProp: https://example.com
  relations:
    mySingleRelation: myTargetEntity
    myManyRelation:
      - myTargetEntity1
      - myTargetEntity2
- identifier: myEntity
  title: My Entity2
  blueprint: mySecondBlueprint
  properties:
    myStringProp: myValue
    myNumberProp: 5
    myUrlProp: https://example.com
`;

describe('parseSpecFile: the documented examples', () => {
  it('reads a single entity', async () => {
    const spec = await parseSpecFile(SINGLE, '/port.yml', none);
    expect(spec).toEqual({
      entries: [
        {
          index: 0,
          line: 1,
          entity: {
            identifier: 'myEntity',
            title: 'My Entity',
            blueprint: 'myBlueprint',
            properties: { myStringProp: 'myValue', myNumberProp: 5, myUrlProp: 'https://example.com' },
            relations: { mySingleRelation: 'myTargetEntity', myManyRelation: ['myTargetEntity1', 'myTargetEntity2'] },
          },
        },
      ],
      problems: [],
      references: [],
    });
  });

  it('reads a list of entities (one identifier in two blueprints is two entities)', async () => {
    const spec = await parseSpecFile(MULTIPLE, '/port.yml', none);
    expect(spec.problems).toEqual([]);
    expect(spec.entries.map((e) => [e.index, e.line, e.entity.blueprint, e.entity.identifier])).toEqual([
      [0, 1, 'myFirstBlueprint', 'myEntity1'],
      [1, 13, 'mySecondBlueprint', 'myEntity'],
    ]);
    expect(spec.entries[1]!.entity).toEqual({
      identifier: 'myEntity',
      title: 'My Entity2',
      blueprint: 'mySecondBlueprint',
      properties: { myStringProp: 'myValue', myNumberProp: 5, myUrlProp: 'https://example.com' },
      relations: {},
    });
  });

  it('keeps team and icon, and reads an empty list as no entities', async () => {
    const spec = await parseSpecFile('identifier: a\nblueprint: b\nicon: Microservice\nteam: [payments, platform]\n', '/port.yml', none);
    expect(spec.entries[0]!.entity).toEqual({ identifier: 'a', blueprint: 'b', icon: 'Microservice', team: ['payments', 'platform'], properties: {}, relations: {} });
    expect(await parseSpecFile('[]\n', '/port.yml', none)).toEqual({ entries: [], problems: [], references: [] });
  });
});

describe('file:// references', () => {
  const files = repo({
    '/services/api/README.md': '# API\n',
    '/services/api/docs/openapi.json': '{"openapi":"3.0.0","paths":{}}',
    '/services/shared.txt': 'shared',
    '/CODEOWNERS': '* @platform\n',
    '/owners.json': '["alice","bob"]',
    '/title.txt': 'The API',
    '/bad.json': '{"a": ',
  });

  it('replaces text and JSON files, at any depth, relative to the spec folder, from the root, and through ..', async () => {
    const text = `identifier: api
title: file:///title.txt
blueprint: service
properties:
  readme: file://README.md
  spec: file://./docs/openapi.json
  nested:
    list:
      - file://../shared.txt
      - plain
    owners: file:///CODEOWNERS
  url: https://example.com/file://not-a-reference
relations:
  owners: file:///owners.json
`;
    const spec = await parseSpecFile(text, '/services/api/port.yml', files);
    expect(spec.problems).toEqual([]);
    expect(spec.entries[0]!.entity).toEqual({
      identifier: 'api',
      title: 'The API',
      blueprint: 'service',
      properties: {
        readme: '# API\n',
        spec: { openapi: '3.0.0', paths: {} },
        nested: { list: ['shared', 'plain'], owners: '* @platform\n' },
        url: 'https://example.com/file://not-a-reference',
      },
      relations: { owners: ['alice', 'bob'] },
    });
    expect(spec.references.sort()).toEqual(['/CODEOWNERS', '/owners.json', '/services/api/README.md', '/services/api/docs/openapi.json', '/services/shared.txt', '/title.txt']);
  });

  it('reads a file referenced twice once', async () => {
    const r = repo({ '/README.md': 'hi' });
    const spec = await parseSpecFile('- {identifier: a, blueprint: b, properties: {x: file://README.md}}\n- {identifier: c, blueprint: b, properties: {x: file:///README.md}}\n', '/port.yml', r);
    expect(spec.entries.map((e) => e.entity.properties.x)).toEqual(['hi', 'hi']);
    expect(r.reads).toEqual(['/README.md']);
    expect(spec.references).toEqual(['/README.md']);
  });

  it('names a missing file, with the entity and line, and leaves that entity out', async () => {
    const text = `- identifier: ok
  blueprint: service
- identifier: api
  blueprint: service
  properties:
    readme: file://MISSING.md
`;
    const spec = await parseSpecFile(text, '/services/api/port.yml', files);
    expect(spec.entries.map((e) => e.entity.identifier)).toEqual(['ok']);
    expect(spec.problems).toEqual([{ path: '/services/api/port.yml', line: 6, entity: 'api', message: 'file://MISSING.md: /services/api/MISSING.md does not exist' }]);
    expect(spec.references).toEqual(['/services/api/MISSING.md']);
  });

  it('refuses a reference above the repository root without reading', async () => {
    const r = repo({});
    const spec = await parseSpecFile('identifier: api\nblueprint: service\nproperties:\n  x: file://../../../etc/passwd\n', '/services/api/port.yml', r);
    expect(spec.entries).toEqual([]);
    expect(spec.problems).toEqual([{ path: '/services/api/port.yml', line: 4, entity: 'api', message: 'file://../../../etc/passwd: climbs above the repository root' }]);
    expect(r.reads).toEqual([]);
  });

  it('reports a JSON file that does not parse', async () => {
    const spec = await parseSpecFile('identifier: api\nblueprint: service\nproperties:\n  cfg: file:///bad.json\n', '/port.yml', files);
    expect(spec.entries).toEqual([]);
    expect(spec.problems).toEqual([{ path: '/port.yml', line: 4, entity: 'api', message: expect.stringMatching(/^file:\/\/\/bad\.json: \/bad\.json is not valid JSON: /) }]);
  });

  it('checks the types that references produce', async () => {
    const spec = await parseSpecFile('identifier: api\nblueprint: service\ntitle: file:///owners.json\n', '/port.yml', files);
    expect(spec.problems).toEqual([{ path: '/port.yml', line: 3, entity: 'api', message: 'title must be a string, got a list' }]);
  });
});

describe('resolveSpecReference', () => {
  it.each([
    ['/services/api/port.yml', 'file://README.md', '/services/api/README.md'],
    ['/services/api/port.yml', 'README.md', '/services/api/README.md'],
    ['/services/api/port.yml', 'file://./docs/a.json', '/services/api/docs/a.json'],
    ['/services/api/port.yml', 'file://../README.md', '/services/README.md'],
    ['/services/api/port.yml', 'file://../../README.md', '/README.md'],
    ['/services/api/port.yml', 'file:///README.md', '/README.md'],
    ['/services/api/port.yml', 'file:///docs/../README.md', '/README.md'],
    ['/port.yml', 'file://a//b', '/a/b'],
    ['services/port.yml', 'file://x', '/services/x'],
  ])('%s + %s → %s', (spec, ref, expected) => {
    expect(resolveSpecReference(spec, ref)).toBe(expected);
  });

  it.each([
    ['/services/api/port.yml', 'file://../../../README.md'],
    ['/port.yml', 'file://../x'],
    ['/port.yml', 'file:///../x'],
    ['/port.yml', 'file://'],
    ['/port.yml', 'file://.'],
  ])('%s + %s → undefined', (spec, ref) => {
    expect(resolveSpecReference(spec, ref)).toBeUndefined();
  });
});

describe('problems', () => {
  it('reports a YAML syntax error with its line, and nothing else', async () => {
    const spec = await parseSpecFile('identifier: a\nblueprint: b\nproperties:\n  x: [1, 2\n  y: 3\n', '/port.yml', none);
    expect(spec.entries).toEqual([]);
    expect(spec.references).toEqual([]);
    expect(spec.problems).toHaveLength(1);
    expect(spec.problems[0]).toEqual({ path: '/port.yml', line: expect.any(Number), message: expect.stringMatching(/^YAML syntax error: /) });
    expect(spec.problems[0]!.line).toBeGreaterThanOrEqual(4);
  });

  it('reports the line of a bad indentation', async () => {
    const spec = await parseSpecFile('identifier: a\nblueprint: b\n  title: x\n', '/port.yml', none);
    expect(spec.problems).toEqual([{ path: '/port.yml', line: 3, message: expect.stringMatching(/^YAML syntax error: /) }]);
  });

  it.each([
    ['a scalar', 'just text\n', 'a string'],
    ['an empty file', '', 'nothing'],
    ['a number', '42\n', 'a number'],
  ])('refuses a document that is %s', async (_what, text, got) => {
    const spec = await parseSpecFile(text, '/port.yml', none);
    expect(spec.entries).toEqual([]);
    expect(spec.problems).toEqual([{ path: '/port.yml', line: 1, message: `expected an entity (a mapping) or a list of entities, got ${got}` }]);
  });

  it('names an entity without identifier by its index, and one without blueprint by its identifier, with their lines', async () => {
    const text = `- identifier: good
  blueprint: service
- title: No identifier
  blueprint: service
- identifier: lonely
  title: No blueprint
- just a string
`;
    const spec = await parseSpecFile(text, '/port.yml', none);
    expect(spec.entries.map((e) => e.entity.identifier)).toEqual(['good']);
    expect(spec.problems).toEqual([
      { path: '/port.yml', line: 3, entity: '#1', message: 'no identifier' },
      { path: '/port.yml', line: 5, entity: 'lonely', message: 'no blueprint' },
      { path: '/port.yml', line: 7, entity: '#3', message: 'expected an entity (a mapping), got a string' },
    ]);
  });

  it('names a single entity without identifier #0', async () => {
    const spec = await parseSpecFile('# a comment\nblueprint: service\n', '/port.yml', none);
    expect(spec.problems).toEqual([{ path: '/port.yml', line: 2, entity: '#0', message: 'no identifier' }]);
  });

  it('reports a duplicate blueprint+identifier and keeps neither', async () => {
    const text = `- identifier: api
  blueprint: service
- identifier: api
  blueprint: library
- identifier: api
  blueprint: service
`;
    const spec = await parseSpecFile(text, '/port.yml', none);
    expect(spec.entries.map((e) => [e.entity.blueprint, e.entity.identifier])).toEqual([['library', 'api']]);
    expect(spec.problems).toEqual([{ path: '/port.yml', line: 5, entity: 'api', message: 'duplicate of the entity at line 1 (service/api); neither is synced' }]);
  });

  it('reports wrong types and unknown keys at their lines', async () => {
    const text = `identifier: 42
blueprint: service
title: [a]
icon: 7
team: {a: b}
properties: [1, 2]
relations: text
owner: me
`;
    const spec = await parseSpecFile(text, '/port.yml', none);
    expect(spec.entries).toEqual([]);
    expect(spec.problems).toEqual([
      { path: '/port.yml', line: 1, entity: '#0', message: 'identifier must be a string, got a number' },
      { path: '/port.yml', line: 3, entity: '#0', message: 'title must be a string, got a list' },
      { path: '/port.yml', line: 4, entity: '#0', message: 'icon must be a string, got a number' },
      { path: '/port.yml', line: 5, entity: '#0', message: 'team must be a string or a list of strings, got a mapping' },
      { path: '/port.yml', line: 6, entity: '#0', message: 'properties must be a mapping, got a list' },
      { path: '/port.yml', line: 7, entity: '#0', message: 'relations must be a mapping, got a string' },
      { path: '/port.yml', line: 8, entity: '#0', message: 'unknown key "owner" (an entity has identifier, title, blueprint, properties, relations, team, icon)' },
    ]);
  });

  it('checks relation values, and empty or file:// identifiers', async () => {
    const text = `- identifier: a
  blueprint: b
  relations:
    ok: x
    none: null
    many: [x, y]
    bad: {x: 1}
- identifier: ''
  blueprint: file://bp.txt
`;
    const spec = await parseSpecFile(text, '/port.yml', none);
    expect(spec.entries).toEqual([]);
    expect(spec.problems).toEqual([
      { path: '/port.yml', line: 7, entity: 'a', message: 'relation "bad" must be an identifier, a list of identifiers or null, got a mapping' },
      { path: '/port.yml', line: 8, entity: '#1', message: 'identifier is empty' },
      { path: '/port.yml', line: 9, entity: '#1', message: 'blueprint cannot be a file:// reference' },
    ]);
  });

  it('turns YAML timestamps into ISO strings', async () => {
    const spec = await parseSpecFile('identifier: a\nblueprint: b\nproperties:\n  released: 2024-05-01\n', '/port.yml', none);
    expect(spec.entries[0]!.entity.properties).toEqual({ released: '2024-05-01T00:00:00.000Z' });
  });
});
