import { describe, expect, it } from '@jest/globals';
import { parseOrganizationUrl } from '../../src/ado/orgUrl.js';
import type { ServiceHookEvent } from '../../src/kinds/types.js';
import { eventSubject } from '../../src/queue/eventJobs.js';
import { coveredPart, handsOver, mergeCovered } from '../../src/queue/eventSubject.js';
import { cloudOrganizationName, eventOrganization } from '../../src/sync/liveEvent.js';
import type { OrgTarget } from '../../src/sync/resync.js';

const target = (url: string): OrgTarget => ({ client: { org: parseOrganizationUrl(url) } }) as unknown as OrgTarget;
const ev = (resource: Record<string, unknown>, containers?: ServiceHookEvent['resourceContainers'], eventType = 'git.push'): ServiceHookEvent => ({
  id: 'e1',
  eventType,
  publisherId: 'tfs',
  resource,
  resourceContainers: containers,
});

describe('which organization an event belongs to', () => {
  const fabrikam = target('https://dev.azure.com/Fabrikam');
  const contoso = target('https://contoso.visualstudio.com');
  const server = target('https://tfs.corp.example/tfs/DefaultCollection');

  it('matches a cloud organization under either host style and on its service hosts', () => {
    expect(cloudOrganizationName('https://fabrikam.vsrm.visualstudio.com/_apis/x')).toBe('fabrikam');
    expect(cloudOrganizationName('https://vsrm.dev.azure.com/fabrikam/p/_apis')).toBe('fabrikam');
    expect(cloudOrganizationName('https://tfs.corp.example/tfs/x')).toBeUndefined();
    const targets = [fabrikam, contoso, server];
    expect(eventOrganization(ev({}, { account: { id: 'a', baseUrl: 'https://fabrikam.visualstudio.com/' } }), targets)).toBe(fabrikam);
    expect(eventOrganization(ev({ url: 'https://dev.azure.com/contoso/_apis/git/repositories/r' }), targets)).toBe(contoso);
    expect(eventOrganization(ev({ url: 'https://vsrm.dev.azure.com/fabrikam/p/_apis/release/releases/1' }), targets)).toBe(fabrikam);
    expect(eventOrganization(ev({ url: 'https://tfs.corp.example/tfs/DefaultCollection/p/_apis/build/builds/3' }), targets)).toBe(server);
  });

  it('ignores an organization that is not configured, and guesses only when one is', () => {
    expect(eventOrganization(ev({ url: 'https://dev.azure.com/someone-else/_apis/x' }), [fabrikam])).toBeUndefined();
    expect(eventOrganization(ev({ url: 'https://dev.azure.com/fabrikamx/_apis/x' }), [fabrikam])).toBeUndefined();
    expect(eventOrganization(ev({}), [fabrikam])).toBe(fabrikam);
    expect(eventOrganization(ev({}), [fabrikam, contoso])).toBeUndefined();
  });
});

describe('event subjects (events on one subject are handled one at a time)', () => {
  it('names what the event is about', () => {
    expect(eventSubject(ev({ pullRequestId: 7, repository: { id: 'R' } }, undefined, 'git.pullrequest.updated'))).toBe('pr:7');
    expect(eventSubject(ev({ id: 9, workItemId: 42 }, undefined, 'workitem.updated'))).toBe('workitem:42');
    expect(eventSubject(ev({ id: 42 }, undefined, 'workitem.deleted'))).toBe('workitem:42');
    expect(eventSubject(ev({ repository: { id: 'R' }, refUpdates: [] }))).toBe('repo:r');
    expect(eventSubject(ev({ run: { id: 5 }, pipeline: { id: 1 } }, undefined, 'ms.vss-pipelines.stage-state-changed-event'))).toBe('run:5');
    expect(eventSubject(ev({ id: 5 }, undefined, 'build.complete'))).toBe('run:5');
    expect(eventSubject(ev({ environment: { releaseId: 3 } }, undefined, 'ms.vss-release.deployment-completed-event'))).toBe('release:3');
    expect(eventSubject(ev({}, undefined, 'something.else'))).toBe('event:e1');
  });
});

describe('pushes a waiting job covers (their refs handed over)', () => {
  const push = (refUpdates: unknown[]) => ev({ repository: { id: 'R' }, refUpdates });
  const ref = (name: string, oldObjectId: string, newObjectId: string) => ({ name, oldObjectId, newObjectId });

  it('each ref once, from its first push old commit to its last push new one, in the order first pushed', () => {
    const first = push([ref('refs/heads/main', 'a1', 'a2')]);
    const covered = [[ref('refs/heads/dev', 'd1', 'd2')], [ref('refs/heads/main', 'a2', 'a3'), ref('refs/heads/gone', 'g1', '0000000000000000000000000000000000000000')]].map((r) => coveredPart(push(r))!);
    expect(mergeCovered(first, covered).resource.refUpdates).toEqual([ref('refs/heads/main', 'a1', 'a3'), ref('refs/heads/dev', 'd1', 'd2'), ref('refs/heads/gone', 'g1', '0000000000000000000000000000000000000000')]);
    // The job's own event is left as it was; with nothing covered, it is the event itself.
    expect(first.resource.refUpdates).toEqual([ref('refs/heads/main', 'a1', 'a2')]);
    expect(mergeCovered(first, [])).toBe(first);
  });

  it('hands over nothing for events whose subject says it all', () => {
    expect(coveredPart(ev({ pullRequestId: 7, repository: { id: 'R' } }, undefined, 'git.pullrequest.updated'))).toBeUndefined();
    expect(coveredPart(push([ref('refs/heads/main', 'a', 'b')]))).toBe(JSON.stringify([ref('refs/heads/main', 'a', 'b')]));
    // Only pushes hand something over (the job reads a list for them alone); an event type is the sender's text.
    expect(['git.push', 'git.pullrequest.updated', 'constructor', 'toString'].map(handsOver)).toEqual([true, false, false, false]);
    expect(coveredPart(ev({}, undefined, 'constructor'))).toBeUndefined();
  });
});
