import { PatAuth } from '../ado/auth.js';
import { AdoClient } from '../ado/client.js';
import { parseOrganizationUrl } from '../ado/orgUrl.js';
import type { Settings } from '../config/settings.js';
import { UserInputError } from '../util/errors.js';
import type { Logger } from '../util/log.js';
import type { OrgTarget } from './resync.js';

/** The Azure DevOps organizations to sync, each with its own client (auth, concurrency, rate-limit window). */
export function buildTargets(settings: Settings, log: Logger): OrgTarget[] {
  if (!settings.organizationUrl) {
    throw new UserInputError('no organization URL: set ADO_ORGANIZATION_URL (or OCEAN__INTEGRATION__CONFIG__ORGANIZATION_URL) or pass --org');
  }
  if (!settings.personalAccessToken) {
    throw new UserInputError('no personal access token: set ADO_PERSONAL_ACCESS_TOKEN (or OCEAN__INTEGRATION__CONFIG__PERSONAL_ACCESS_TOKEN)');
  }
  const org = parseOrganizationUrl(settings.organizationUrl, settings.adoFlavor);
  const client = new AdoClient(
    org,
    new PatAuth(settings.personalAccessToken),
    { concurrency: settings.orgConcurrency, timeoutMs: settings.requestTimeoutMs, maxAttempts: settings.maxAttempts },
    log.child({ org: org.name }),
  );
  return [{ client }];
}
