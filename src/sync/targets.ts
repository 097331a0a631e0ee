/**
 * The Azure DevOps clients of a run, built from the account settings config/accounts.ts validated: one client per
 * organization, one auth shared by all of them; and Microsoft Graph on the same Entra credential.
 */
import { createHash } from 'node:crypto';
import { PatAuth, type AdoAuth } from '../ado/auth.js';
import { AdoClient } from '../ado/client.js';
import { createEntraCredential, DEFAULT_REFRESH_MARGIN_MS, EntraAuth, GRAPH_SCOPE, type EntraAuthMethod, type EntraCredential } from '../ado/entraAuth.js';
import { resolveAccountSettings, type AuthMethod } from '../config/accounts.js';
import type { Settings } from '../config/settings.js';
import { MicrosoftGraphClient } from '../msgraph/client.js';
import { errorMessage, UserInputError } from '../util/errors.js';
import type { Logger } from '../observability/log.js';
import type { OrgTarget } from './resync.js';

interface EntraEntry {
  credential: EntraCredential;
  /** Tokens for Azure DevOps. */
  auth: EntraAuth;
  /** Tokens for Microsoft Graph, made on first use. */
  graph?: EntraAuth;
}

/** One Entra credential per distinct configuration, shared by every organization, every buildTargets call and Microsoft Graph. */
const entraEntries = new Map<string, EntraEntry>();

function entraFor(settings: Settings, method: EntraAuthMethod): EntraEntry {
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
  let entry = entraEntries.get(key);
  if (!entry) {
    let credential;
    try {
      credential = createEntraCredential(options);
    } catch (err) {
      throw new UserInputError(errorMessage(err));
    }
    entry = { credential, auth: new EntraAuth(credential, method, entraSecrets(settings)) };
    entraEntries.set(key, entry);
  }
  return entry;
}

function entraSecrets(settings: Settings): Array<string | undefined> {
  return [settings.clientSecret, settings.clientCertificatePassword];
}

function authFor(settings: Settings, method: AuthMethod): AdoAuth {
  if (method === 'pat') return new PatAuth(settings.personalAccessToken as string);
  return entraFor(settings, method).auth;
}

/**
 * Microsoft Graph for the actions on Entra-sourced groups: only with Entra ID auth (the credential the Azure DevOps
 * clients use, asked for Graph's `.default` scope); undefined with a personal access token.
 */
export function createMicrosoftGraph(settings: Settings, log: Logger): MicrosoftGraphClient | undefined {
  const { method } = resolveAccountSettings(settings);
  if (method === 'pat') return undefined;
  const entry = entraFor(settings, method);
  entry.graph ??= new EntraAuth(entry.credential, method, entraSecrets(settings), DEFAULT_REFRESH_MARGIN_MS, Date.now, GRAPH_SCOPE);
  return new MicrosoftGraphClient(
    settings.microsoftGraphUrl,
    entry.graph,
    { timeoutMs: settings.requestTimeoutMs, maxAttempts: settings.maxAttempts },
    log.child({ component: 'microsoft-graph' }),
  );
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
