import { describe, expect, it } from '@jest/globals';
import { parseOrganizationUrl, serviceUrl } from '../../src/ado/orgUrl.js';
import { parseRetryAfter } from '../../src/http/governor.js';

describe('organization URLs', () => {
  it.each([
    ['https://dev.azure.com/acme/', { url: 'https://dev.azure.com/acme', name: 'acme', flavor: 'services' }, 'https://vsrm.dev.azure.com/acme'],
    ['https://acme.visualstudio.com', { url: 'https://acme.visualstudio.com', name: 'acme', flavor: 'services' }, 'https://acme.vsrm.visualstudio.com'],
    ['https://tfs.corp.local/tfs/DefaultCollection', { url: 'https://tfs.corp.local/tfs/DefaultCollection', name: 'DefaultCollection', flavor: 'server' }, 'https://tfs.corp.local/tfs/DefaultCollection'],
  ])('parses %s', (raw, expected, vsrm) => {
    const org = parseOrganizationUrl(raw);
    expect(org).toMatchObject(expected);
    expect(serviceUrl(org, 'vsrm')).toBe(vsrm);
  });

  it.each([
    ['not a url', /not a valid URL/],
    ['https://dev.azure.com/', /has no organization/],
    ['https://dev.azure.com/acme/project', /extra path segments/],
    ['https://user:secret@dev.azure.com/acme', /must not embed credentials/],
    ['ftp://dev.azure.com/acme', /http or https/],
    ['http://dev.azure.com/acme', /must use https: Azure DevOps Services answers https only \(https:\/\/dev.azure.com\/acme\)/],
    ['http://acme.visualstudio.com/', /must use https/],
  ])('rejects %s', (raw, message) => {
    expect(() => parseOrganizationUrl(raw)).toThrow(message);
  });

  it('lets a custom host act as Services', () => {
    expect(parseOrganizationUrl('http://127.0.0.1:8080/acme', 'services')).toMatchObject({ flavor: 'services', name: 'acme' });
  });
});

describe('Retry-After', () => {
  it('reads seconds, fractions and HTTP dates', () => {
    expect(parseRetryAfter('3')).toBe(3000);
    expect(parseRetryAfter('0.25')).toBe(250);
    const date = new Date(Date.now() + 10_000).toUTCString();
    expect(parseRetryAfter(date)).toBeGreaterThan(8000);
    expect(parseRetryAfter(null)).toBeUndefined();
    expect(parseRetryAfter('soon')).toBeUndefined();
  });
});
