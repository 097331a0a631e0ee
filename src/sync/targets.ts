/**
 * The Azure DevOps clients of a run, built from the account settings config/accounts.ts validated: one client per
 * organization, one auth shared by all of them.
 */
import { createHash } from 'node:crypto';
import { PatAuth, type AdoAuth } from '../ado/auth.js';
import { AdoClient } from '../ado/client.js';
import { createEntraCredential, EntraAuth } from '../ado/entraAuth.js';
import { resolveAccountSettings, type AuthMethod } from '../config/accounts.js';
import type { Settings } from '../config/settings.js';
import { errorMessage, UserInputError } from '../util/errors.js';
import type { Logger } from '../observability/log.js';
import type { OrgTarget } from './resync.js';

/** One Entra credential per distinct configuration, shared by every organization and every buildTargets call. */
const entraAuths = new Map<string, EntraAuth>();

function authFor(settings: Settings, method: AuthMethod): AdoAuth {
  if (method === 'pat') return new PatAuth(settings.personalAccessToken as string);
  const options = {
    method,
    tenantId: settings.tenantId,
    clientId: settings.clientId,
    clientSecret: settings.clientSecret,
    certificatePath: settings.clientCertificatePath,
    certificatePassword: settings.clientCertificatePassword,
    managedIdentityClientId: settings.managedIdentityClientId,
    federatedTokenFile: settings.federatedTokenFile,
    authorityHost: settings.authorityHost,
  };
  const key = createHash('sha256').update(JSON.stringify(options)).digest('hex');
  let auth = entraAuths.get(key);
  if (!auth) {
    let credential;
    try {
      credential = createEntraCredential(options);
    } catch (err) {
      throw new UserInputError(errorMessage(err));
    }
    auth = new EntraAuth(credential, method, [settings.clientSecret, settings.clientCertificatePassword]);
    entraAuths.set(key, auth);
  }
  return auth;
}

/** The Azure DevOps organizations to sync, each with its own client (concurrency, rate-limit window); one shared auth. */
export function buildTargets(settings: Settings, log: Logger): OrgTarget[] {
  const account = resolveAccountSettings(settings);
  const auth = authFor(settings, account.method);
  if (account.mode === 'multiple' && settings.personalAccessToken) {
    log.warn('multiple mode: the personal access token setting is ignored; the Entra ID credential is used');
  }
  return account.organizations.map((org) => ({
    client: new AdoClient(
      org,
      auth,
      { concurrency: settings.orgConcurrency, timeoutMs: settings.requestTimeoutMs, maxAttempts: settings.maxAttempts },
      log.child({ org: org.name }),
    ),
  }));
}
