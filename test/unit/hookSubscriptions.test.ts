import { describe, expect, it } from '@jest/globals';
import { parseOrganizationUrl } from '../../src/ado/orgUrl.js';
import { hooksApiVersion, subscriptionsUrl } from '../../src/serviceHooks/api.js';
import { isCorrect, ownership, secretFingerprint } from '../../src/serviceHooks/ownership.js';
import { INSTANCE_HEADER, SECRET_HEADER, webhookUrl, type HookSettings, type HookSubscription } from '../../src/serviceHooks/subscription.js';
import { parseEvents } from '../../src/cli/commands/webhooks.js';

const settings: HookSettings = { appHost: 'https://sync.example.com', webhookSecret: 's3cret-value', webhookAuthUsername: 'port', isProjectsLimited: true, integrationIdentifier: 'unit' };
const URL_ = 'https://sync.example.com/webhooks/azure-devops';

describe('hosts per publisher (no network)', () => {
  it('dev.azure.com: tfs and pipelines on the org host, rm on vsrm, advsec on advsec', () => {
    const org = parseOrganizationUrl('https://dev.azure.com/fabrikam');
    expect(subscriptionsUrl(org, 'tfs')).toBe('https://dev.azure.com/fabrikam/_apis/hooks/subscriptions');
    expect(subscriptionsUrl(org, 'pipelines')).toBe('https://dev.azure.com/fabrikam/_apis/hooks/subscriptions');
    expect(subscriptionsUrl(org, 'rm')).toBe('https://vsrm.dev.azure.com/fabrikam/_apis/hooks/subscriptions');
    expect(subscriptionsUrl(org, 'advsec')).toBe('https://advsec.dev.azure.com/fabrikam/_apis/hooks/subscriptions');
  });

  it('{org}.visualstudio.com: the sub-domain is inserted', () => {
    const org = parseOrganizationUrl('https://fabrikam.visualstudio.com');
    expect(subscriptionsUrl(org, 'tfs')).toBe('https://fabrikam.visualstudio.com/_apis/hooks/subscriptions');
    expect(subscriptionsUrl(org, 'pipelines')).toBe('https://fabrikam.visualstudio.com/_apis/hooks/subscriptions');
    expect(subscriptionsUrl(org, 'rm')).toBe('https://fabrikam.vsrm.visualstudio.com/_apis/hooks/subscriptions');
    expect(subscriptionsUrl(org, 'advsec')).toBe('https://fabrikam.advsec.visualstudio.com/_apis/hooks/subscriptions');
  });

  it('a Server collection serves every publisher itself; explicit service URLs win', () => {
    const server = parseOrganizationUrl('https://tfs.corp/tfs/Default');
    expect(subscriptionsUrl(server, 'rm')).toBe('https://tfs.corp/tfs/Default/_apis/hooks/subscriptions');
    expect(subscriptionsUrl({ ...server, serviceUrls: { vsrm: 'https://proxy/vsrm/' } }, 'rm')).toBe('https://proxy/vsrm/_apis/hooks/subscriptions');
  });

  it('api-versions: 7.1-preview.1, advsec 7.2-preview.1', () => {
    expect(hooksApiVersion('tfs')).toBe('7.1-preview.1');
    expect(hooksApiVersion('rm')).toBe('7.1-preview.1');
    expect(hooksApiVersion('advsec')).toBe('7.2-preview.1');
  });
});

describe('match rule', () => {
  const fp = secretFingerprint('s3cret-value', 'unit');
  const ours = (extra: Partial<HookSubscription> = {}): HookSubscription => ({
    id: '1',
    publisherId: 'tfs',
    eventType: 'git.push',
    consumerId: 'webHooks',
    consumerActionId: 'httpRequest',
    status: 'enabled',
    publisherInputs: { projectId: 'P1', tfsSubscriptionId: 'x', hostId: 'y' },
    consumerInputs: { url: URL_, basicAuthUsername: 'port', basicAuthPassword: '********', httpHeaders: `${INSTANCE_HEADER}:unit\n${SECRET_HEADER}:${fp}` },
    ...extra,
  });

  it('webhookUrl appends the receiver path once', () => {
    expect(webhookUrl('https://h/')).toBe('https://h/webhooks/azure-devops');
    expect(webhookUrl('https://h/webhooks/azure-devops')).toBe('https://h/webhooks/azure-devops');
  });

  it('ignores server-added publisher inputs and the masked password', () => {
    expect(isCorrect(ours(), { publisherId: 'tfs', eventType: 'git.push', projectId: 'p1' }, settings, URL_, fp)).toBe(true);
    expect(isCorrect(ours(), { publisherId: 'tfs', eventType: 'git.push', projectId: 'p2' }, settings, URL_, fp)).toBe(false);
  });

  it('a changed secret (fingerprint) or another URL is not correct', () => {
    expect(isCorrect(ours(), { publisherId: 'tfs', eventType: 'git.push', projectId: 'P1' }, settings, URL_, secretFingerprint('other', 'unit'))).toBe(false);
    expect(isCorrect(ours(), { publisherId: 'tfs', eventType: 'git.push', projectId: 'P1' }, settings, 'https://new/webhooks/azure-devops', fp)).toBe(false);
    expect(secretFingerprint('s3cret-value', 'unit')).not.toContain('s3cret');
  });

  it('ownership: marker decides; header-less twins at our URL are adoptable; the rest is foreign', () => {
    expect(ownership(ours(), settings, URL_)).toBe('ours');
    expect(ownership(ours({ consumerInputs: { url: 'https://old/x', httpHeaders: `${INSTANCE_HEADER}:unit` } }), settings, URL_)).toBe('ours');
    expect(ownership(ours({ consumerInputs: { url: URL_, httpHeaders: `${INSTANCE_HEADER}:other` } }), settings, URL_)).toBe('foreign');
    expect(ownership(ours({ consumerInputs: { url: URL_ } }), settings, URL_)).toBe('adoptable');
    expect(ownership(ours({ consumerInputs: { url: URL_ }, publisherInputs: { projectId: 'P1', repository: 'r' } }), settings, URL_)).toBe('foreign');
    expect(ownership(ours({ consumerInputs: { url: 'https://elsewhere' } }), settings, URL_)).toBe('foreign');
    expect(ownership(ours({ consumerId: 'jenkins' }), settings, URL_)).toBe('foreign');
  });

  it('--events parsing', () => {
    expect(parseEvents('tfs/git.push, rm/ms.vss-release.deployment-completed-event,tfs/git.push')).toEqual([
      { publisherId: 'tfs', eventType: 'git.push' },
      { publisherId: 'rm', eventType: 'ms.vss-release.deployment-completed-event' },
    ]);
    expect(() => parseEvents('nope/git.push')).toThrow(/publisher/);
    expect(() => parseEvents('git.push')).toThrow(/publisher/);
  });
});

describe('required subscriptions', () => {
  it('are the distinct events of the configured kinds, each on its publisher', async () => {
    const { loadAppConfig } = await import('../../src/config/appConfig.js');
    const { requiredSubscriptions } = await import('../../src/serviceHooks/desired.js');
    const { config } = loadAppConfig(new URL('../../mappings/port-app-config.yml', import.meta.url).pathname);
    const pairs = requiredSubscriptions(config).map((s) => `${s.publisherId}/${s.eventType}`);
    // The default mapping: repositories, work items, releases and pull requests have live events; boards do not.
    expect(pairs).toEqual(expect.arrayContaining(['tfs/git.repo.created', 'tfs/workitem.deleted', 'tfs/git.pullrequest.updated', 'rm/ms.vss-release.release-created-event']));
    expect(new Set(pairs).size).toBe(pairs.length);
    expect(pairs.some((p) => p.startsWith('pipelines/'))).toBe(false);
  });
});
