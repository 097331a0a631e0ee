import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { AdoDataset, startAdoSimulator, ZERO_ID, type AdoSimulator, type GitItem, type GitRepository } from './ado/index.js';

function basic(pat: string): string {
  return `Basic ${Buffer.from(`:${pat}`).toString('base64')}`;
}

interface List<T> {
  count: number;
  value: T[];
}

const PORT_YML = 'resources:\n  - identifier: api\n    blueprint: service\n';
const API_YML = 'identifier: api\ntitle: API\n';
const SCHEMA = '{"type":"object"}\n';
const BROKEN = 'key: [1, 2\n  other: }\n';

describe('ado simulator: repository contents with commits', () => {
  let sim: AdoSimulator;
  let repo: GitRepository;
  let base: string;

  async function get(path: string, headers: Record<string, string> = {}): Promise<Response> {
    return fetch(`${sim.orgUrl()}/${repo.project.id}/_apis/git/repositories/${repo.id}/${path}`, { headers: { authorization: basic(sim.pat), ...headers } });
  }
  async function json<T>(path: string): Promise<{ status: number; body: T }> {
    const res = await get(path, { accept: 'application/json' });
    return { status: res.status, body: (await res.json()) as T };
  }
  async function listing(query: string): Promise<GitItem[]> {
    const { status, body } = await json<List<GitItem>>(`items?${query}&api-version=7.1`);
    expect(status).toBe(200);
    expect(body.count).toBe(body.value.length);
    return body.value;
  }
  async function text(path: string, version = ''): Promise<{ status: number; text: string }> {
    const res = await get(`items?path=${encodeURIComponent(path)}${version}&api-version=7.1`, { accept: 'text/plain' });
    return { status: res.status, text: await res.text() };
  }

  beforeAll(async () => {
    // The first repository of the second project: named after its project, hence unique in the organization.
    const { id, name } = new AdoDataset().org('acme')!.repos.record(4);
    sim = await startAdoSimulator({
      repoFiles: { [name]: { '/port.yml': PORT_YML, 'services/api/port.yml': API_YML, '/schemas/api.json': SCHEMA, '/broken/port.yml': BROKEN } },
    });
    repo = sim.dataset.repository(undefined, id)!;
    expect(repo.name).toBe(name);
    base = sim.git.head(repo.id);
  });
  afterAll(() => sim.close());

  it('lists and reads the seeded files at the base commit, alongside the generated ones', async () => {
    expect(base).toMatch(/^[0-9a-f]{40}$/);
    expect(base).toBe(sim.dataset.org('acme')!.repos.record(4).headCommit);
    const items = await listing('scopePath=/&recursionLevel=Full');
    const paths = items.map((i) => i.path);
    expect(paths).toEqual(expect.arrayContaining(['/', '/port.yml', '/services', '/services/api', '/services/api/port.yml', '/schemas', '/schemas/api.json', '/broken/port.yml', '/README.md']));
    for (const i of items) {
      expect(i.commitId).toBe(base);
      expect(i.objectId).toMatch(/^[0-9a-f]{40}$/);
      expect(i.gitObjectType).toBe(i.isFolder ? 'tree' : 'blob');
    }
    expect(items.find((i) => i.path === '/schemas')).toMatchObject({ isFolder: true, gitObjectType: 'tree' });

    const oneLevel = (await listing('scopePath=/services&recursionLevel=OneLevel')).map((i) => i.path);
    expect(oneLevel).toContain('/services/api');
    expect(oneLevel).not.toContain('/services/api/port.yml');
    expect((await listing('scopePath=/schemas&recursionLevel=None')).map((i) => i.path)).toEqual(['/schemas']);

    const { status, body } = await json<GitItem>('items?path=/services/api/port.yml&includeContent=true&api-version=7.1');
    expect(status).toBe(200);
    expect(body).toMatchObject({ path: '/services/api/port.yml', content: API_YML, commitId: base, gitObjectType: 'blob' });
    expect(await text('/broken/port.yml')).toEqual({ status: 200, text: BROKEN });
    expect(sim.dataset.files(undefined, repo.id).find((f) => f.path === '/port.yml')?.content).toBe(PORT_YML);
  });

  it('commits add, change and delete files; the old commit still reads the old content', async () => {
    const readmeBefore = (await text('/README.md')).text;
    const push = sim.git.commit(repo.name, { '/port.yml': 'resources: []\n', '/services/web/port.yml': 'identifier: web\n', '/schemas/api.json': null });
    expect(push.oldObjectId).toBe(base);
    expect(push.newObjectId).toMatch(/^[0-9a-f]{40}$/);
    expect(push.newObjectId).not.toBe(base);
    expect(sim.git.head(repo.id)).toBe(push.newObjectId);

    // The default branch's head (no version, or the branch by name).
    expect((await text('/port.yml')).text).toBe('resources: []\n');
    expect((await text('/services/web/port.yml', `&versionDescriptor.version=${repo.defaultBranch!.replace('refs/heads/', '')}&versionDescriptor.versionType=branch`)).text).toBe('identifier: web\n');
    expect((await text('/schemas/api.json')).status).toBe(404);
    const err = (await json<{ typeKey: string }>('items?path=/schemas/api.json&includeContent=true')).body;
    expect(err.typeKey).toBe('GitItemNotFoundException');
    expect((await text('/README.md')).text).toBe(readmeBefore);
    const now = await listing('scopePath=/&recursionLevel=Full');
    expect(now.map((i) => i.path)).not.toContain('/schemas');
    expect(now.map((i) => i.path)).toContain('/services/web');
    expect(new Set(now.map((i) => i.commitId))).toEqual(new Set([push.newObjectId]));

    // The base commit is unchanged.
    const old = `&versionDescriptor.version=${base}&versionDescriptor.versionType=commit`;
    expect((await text('/port.yml', old)).text).toBe(PORT_YML);
    expect((await text('/schemas/api.json', old)).text).toBe(SCHEMA);
    expect((await text('/services/web/port.yml', old)).status).toBe(404);
    const then = await listing(`scopePath=/&recursionLevel=Full${old}`);
    expect(then.map((i) => i.path)).toContain('/schemas/api.json');
    expect(new Set(then.map((i) => i.commitId))).toEqual(new Set([base]));
    // Unchanged files keep their objectId; a changed one gets a new one.
    const id = (items: GitItem[], p: string) => items.find((i) => i.path === p)?.objectId;
    expect(id(now, '/README.md')).toBe(id(then, '/README.md'));
    expect(id(now, '/port.yml')).not.toBe(id(then, '/port.yml'));
    expect(id(now, '/')).not.toBe(id(then, '/'));

    // The repository's refs and the itemsbatch show the new head.
    const refs = (await json<List<{ name: string; objectId: string }>>('refs?filter=heads/')).body.value;
    expect(refs.find((r) => r.name === repo.defaultBranch)?.objectId).toBe(push.newObjectId);
    const batch = await fetch(`${sim.orgUrl()}/${repo.project.id}/_apis/git/repositories/${repo.id}/itemsbatch?api-version=7.1`, {
      method: 'POST',
      headers: { authorization: basic(sim.pat), 'content-type': 'application/json' },
      body: JSON.stringify({ itemDescriptors: [{ path: '/services', recursionLevel: 'full' }, { path: '/', recursionLevel: 'oneLevel', version: base, versionType: 'commit' }] }),
    });
    const lists = ((await batch.json()) as List<GitItem[]>).value;
    expect(lists[0]!.map((i) => i.path)).toContain('/services/web/port.yml');
    expect(lists[1]!.map((i) => i.path)).toContain('/schemas');

    // The commit diff lists the changed files.
    const diff = (await json<{ changes: Array<{ item: { path: string }; changeType: string }> }>(
      `diffs/commits?baseVersion=${base}&baseVersionType=commit&targetVersion=${push.newObjectId}&targetVersionType=commit&diffCommonCommit=false`,
    )).body;
    expect(diff.changes.map((c) => [c.item.path, c.changeType])).toEqual([
      ['/port.yml', 'edit'],
      ['/schemas/api.json', 'delete'],
      ['/services/web/port.yml', 'add'],
    ]);
  });

  it('returns the git.push service-hook event of the commit', () => {
    const before = sim.git.head(repo.id);
    const { event, newObjectId } = sim.git.commit(repo.id, { '/port.yml': 'resources:\n  - identifier: x\n' }, { comment: 'Declare x' });
    expect(event).toMatchObject({
      eventType: 'git.push',
      publisherId: 'tfs',
      resourceVersion: '1.0',
      resource: {
        refUpdates: [{ name: repo.defaultBranch, oldObjectId: before, newObjectId }],
        repository: { id: repo.id, name: repo.name, url: repo.url, project: { id: repo.project.id, name: repo.project.name }, defaultBranch: repo.defaultBranch, remoteUrl: repo.remoteUrl },
        commits: [{ commitId: newObjectId, comment: 'Declare x' }],
      },
      resourceContainers: { project: { id: repo.project.id, baseUrl: `${sim.orgUrl()}/` } },
    });
    expect(event.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(typeof event.resource.pushId).toBe('number');
    expect(event.resourceContainers.collection.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(Number.isNaN(Date.parse(event.createdDate))).toBe(false);
  });

  it('a commit to another branch leaves the default branch unchanged', async () => {
    const main = sim.git.head(repo.id);
    const mainPort = (await text('/port.yml')).text;
    const push = sim.git.commit(repo.id, { '/port.yml': 'on a branch\n' }, { branch: 'gitops/try' });
    expect(push.oldObjectId).toBe(ZERO_ID);
    expect(push.event.resource.refUpdates).toEqual([{ name: 'refs/heads/gitops/try', oldObjectId: ZERO_ID, newObjectId: push.newObjectId }]);
    expect(sim.git.head(repo.id)).toBe(main);
    expect(sim.git.head(repo.id, 'gitops/try')).toBe(push.newObjectId);
    expect((await text('/port.yml')).text).toBe(mainPort);
    expect((await text('/port.yml', '&versionDescriptor.version=gitops/try&versionDescriptor.versionType=branch')).text).toBe('on a branch\n');
    expect((await text('/port.yml', `&versionDescriptor.version=${push.newObjectId}&versionDescriptor.versionType=commit`)).text).toBe('on a branch\n');
    const refs = (await json<List<{ name: string; objectId: string }>>('refs?filter=heads/')).body.value;
    expect(refs.find((r) => r.name === 'refs/heads/gitops/try')?.objectId).toBe(push.newObjectId);
    expect(refs.find((r) => r.name === repo.defaultBranch)?.objectId).toBe(main);

    // A second commit on it moves it from its previous head; generated branches read the base files.
    const again = sim.git.commit(repo.id, { '/extra.txt': 'x' }, { branch: 'refs/heads/gitops/try' });
    expect(again.oldObjectId).toBe(push.newObjectId);
    expect(sim.git.files(repo.id, { branch: 'gitops/try' })['/extra.txt']).toBe('x');
    const generated = refs.find((r) => r.name !== repo.defaultBranch && r.name !== 'refs/heads/gitops/try')!;
    expect((await text('/schemas/api.json', `&versionDescriptor.version=${encodeURIComponent(generated.name)}&versionDescriptor.versionType=branch`)).text).toBe(SCHEMA);
  });

  it('answers an unknown commit or branch with the version error', async () => {
    for (const v of [`${'a'.repeat(40)}&versionDescriptor.versionType=commit`, 'nope&versionDescriptor.versionType=branch']) {
      const { status, body } = await json<{ typeKey: string; message: string }>(`items?scopePath=/&recursionLevel=Full&versionDescriptor.version=${v}`);
      expect(status).toBe(404);
      expect(body.typeKey).toBe('GitUnresolvableToCommitException');
      expect((await text('/port.yml', `&versionDescriptor.version=${v}`)).status).toBe(404);
    }
    expect(() => sim.git.commit(repo.id, { '/nothing-here': null })).toThrow(/no such file/);
    expect(() => sim.git.head(repo.id, 'missing')).toThrow(/no branch/);
  });
});

describe('ado simulator: repositories without commits', () => {
  it('keep the generated heads and objectIds', async () => {
    const a = await startAdoSimulator();
    const b = await startAdoSimulator({ repoFiles: {} });
    try {
      const org = a.dataset.org('acme')!;
      const rec = org.repos.record(0);
      const path = `/acme/_apis/git/repositories/${rec.id}/items?scopePath=/&recursionLevel=Full`;
      const read = async (s: AdoSimulator) =>
        ((await (await fetch(`${s.url}${path}`, { headers: { authorization: basic(s.pat) } })).json()) as List<GitItem>).value.map((i) => ({ ...i, url: '' }));
      const items = await read(a);
      expect(items).toEqual(await read(b));
      expect(new Set(items.map((i) => i.commitId))).toEqual(new Set([rec.headCommit]));
      expect(a.git.head(rec.id)).toBe(rec.headCommit);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
});
