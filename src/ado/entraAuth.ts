import { existsSync } from 'node:fs';
import {
  ClientCertificateCredential,
  ClientSecretCredential,
  ManagedIdentityCredential,
  WorkloadIdentityCredential,
  type AccessToken,
  type GetTokenOptions,
  type TokenCredential,
} from '@azure/identity';
import type { Logger } from '../observability/log.js';
import { errorMessage, scrubSecrets } from '../util/errors.js';
import { azureHttpClient, describeForAzureSdk, NO_SDK_RETRIES } from '../http/azureHttpClient.js';
import { HttpError, RawBody, retryableStatus, Transport, type RetryPolicy, type TransportStats } from '../http/index.js';
import type { AdoAuth } from './auth.js';

/** The Azure DevOps resource (application id); its `.default` scope grants whatever the principal has in the org. */
export const ADO_SCOPE = '499b84ac-1321-427f-aa17-267ca6975798/.default';
/** Microsoft Graph; `.default` grants the application permissions consented to the app registration. */
export const GRAPH_SCOPE = 'https://graph.microsoft.com/.default';

export type EntraAuthMethod = 'client-secret' | 'client-certificate' | 'managed-identity' | 'workload-identity';

export interface EntraOptions {
  method: EntraAuthMethod;
  tenantId?: string;
  clientId?: string;
  clientSecret?: string;
  certificatePath?: string;
  certificatePassword?: string;
  managedIdentityClientId?: string;
  federatedTokenFile?: string;
  /** Default https://login.microsoftonline.com. An http:// authority is served by {@link ClientCredentialsFetchCredential}. */
  authorityHost?: string;
}

/** Token requests: few and small; the SDK's own defaults were 4 attempts from 800 ms, up to 64 s apart. */
export const ENTRA_POLICY: RetryPolicy = {
  concurrency: 4,
  timeoutMs: 60_000,
  maxAttempts: 4,
  backoffBaseMs: 800,
  backoffMaxMs: 64_000,
  maxPauseMs: 300_000,
};

/** The transport of Entra ID token requests (one per credential): the retry policy, pause window and stats of all. */
export function entraTransport(secrets: Array<string | undefined> = [], log?: Logger): Transport {
  const transport: Transport = new Transport(ENTRA_POLICY, {
    service: 'entra id',
    log,
    secrets: () => secrets,
    describe: describeForAzureSdk('Entra ID', (message) => transport.scrub(message)),
  });
  return transport;
}

/** A credential whose token requests go through a transport: its stats. */
export interface EntraCredential extends TokenCredential {
  readonly stats?: TransportStats;
}

/** Refresh this long before a token's expiry, so no request leaves with a token about to lapse. */
export const DEFAULT_REFRESH_MARGIN_MS = 5 * 60_000;

/**
 * Bearer auth from an Entra ID credential, for one resource (`scope`: Azure DevOps by default, or Microsoft Graph). One
 * instance is shared by every organization: the token is tenant-scoped.
 * The token is cached here and fetched again when it is within `marginMs` of expiring (or on a 401 through
 * {@link refresh}); concurrent callers share one in-flight token request.
 */
export class EntraAuth implements AdoAuth {
  readonly description: string;
  readonly kind = 'entra' as const;
  #token?: AccessToken;
  #pending?: Promise<AccessToken>;
  #obtainedAt = 0;
  readonly #extraSecrets: string[];

  constructor(
    private readonly credential: EntraCredential,
    method: EntraAuthMethod,
    secrets: Array<string | undefined> = [],
    private readonly marginMs = DEFAULT_REFRESH_MARGIN_MS,
    private readonly now: () => number = Date.now,
    private readonly scope = ADO_SCOPE,
  ) {
    this.description = `Entra ID ${method === 'client-secret' || method === 'client-certificate' ? 'service principal' : method.replace('-', ' ')}`;
    this.#extraSecrets = secrets.filter((s): s is string => typeof s === 'string' && s.length > 0);
  }

  async header(signal?: AbortSignal): Promise<string> {
    const token = this.#token;
    // Margin: 5 minutes, or half the token's lifetime for short-lived tokens.
    const margin = token ? Math.min(this.marginMs, (token.expiresOnTimestamp - this.#obtainedAt) / 2) : 0;
    if (token && token.expiresOnTimestamp - margin > this.now()) return `Bearer ${token.token}`;
    return `Bearer ${(await this.#fetch(signal)).token}`;
  }

  /**
   * The service said 401: fetch a token again (joining a fetch already in flight) and let the request try once more.
   * @azure/identity answers from its cache while it believes the token valid; the stand-in credential always fetches.
   */
  async refresh(): Promise<boolean> {
    try {
      await this.#fetch(undefined);
      return true;
    } catch {
      return false;
    }
  }

  secrets(): string[] {
    return this.#token ? [...this.#extraSecrets, this.#token.token] : [...this.#extraSecrets];
  }

  /** Counters of the token requests, when they go through a transport (every method but managed identity). */
  get stats(): TransportStats | undefined {
    return this.credential.stats;
  }

  #fetch(signal: AbortSignal | undefined): Promise<AccessToken> {
    if (this.#pending) return this.#pending;
    const options: GetTokenOptions = signal ? { abortSignal: signal } : {};
    const p = this.credential
      .getToken(this.scope, options)
      .then((t) => {
        if (!t) throw new Error('the credential returned no token');
        this.#token = t;
        this.#obtainedAt = this.now();
        return t;
      })
      .catch((err: unknown) => {
        const resource = this.scope === ADO_SCOPE ? 'an Azure DevOps' : this.scope === GRAPH_SCOPE ? 'a Microsoft Graph' : `a ${this.scope}`;
        throw new Error(scrubSecrets(`${this.description}: could not get ${resource} token: ${errorMessage(err)}`, this.secrets()));
      })
      .finally(() => {
        if (this.#pending === p) this.#pending = undefined;
      });
    this.#pending = p;
    return p;
  }
}

/**
 * OAuth 2.0 client-credentials grant against `{authority}/{tenant}/oauth2/v2.0/token`, through the transport. Used
 * only for an http:// authority (the loopback Entra stand-in of the simulator), which MSAL (under @azure/identity)
 * refuses because it requires https authorities. Real Azure always goes through @azure/identity.
 */
export class ClientCredentialsFetchCredential implements EntraCredential {
  constructor(
    private readonly authorityHost: string,
    private readonly tenantId: string,
    private readonly clientId: string,
    private readonly clientSecret: string,
    private readonly transport: Transport = entraTransport([clientSecret]),
  ) {}

  get stats(): TransportStats {
    return this.transport.stats;
  }

  async getToken(scopes: string | string[], options?: GetTokenOptions): Promise<AccessToken> {
    const url = `${this.authorityHost.replace(/\/+$/, '')}/${encodeURIComponent(this.tenantId)}/oauth2/v2.0/token`;
    const form = new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: this.clientId,
      client_secret: this.clientSecret,
      scope: Array.isArray(scopes) ? scopes.join(' ') : scopes,
    });
    return this.transport.send<AccessToken>({
      method: 'POST',
      url,
      body: new RawBody(form.toString(), 'application/x-www-form-urlencoded'),
      signal: options?.abortSignal as AbortSignal | undefined,
      headers: () => ({ accept: 'application/json' }),
      read: ({ status, ok, text, retryAfterMs }) => {
        let json: { access_token?: unknown; expires_in?: unknown; error?: unknown; error_description?: unknown } = {};
        try {
          json = JSON.parse(text) as typeof json;
        } catch {
          /* reported below */
        }
        if (!ok || typeof json.access_token !== 'string') {
          const why = typeof json.error === 'string' ? `${json.error}${typeof json.error_description === 'string' ? `: ${json.error_description.slice(0, 200)}` : ''}` : text.slice(0, 200);
          const retryable = retryableStatus(status);
          throw new HttpError(scrubSecrets(`token endpoint answered HTTP ${status}: ${why}`, [this.clientSecret]), { status, retryable, retryAfterMs });
        }
        const expiresIn = Number(json.expires_in);
        return { token: json.access_token, expiresOnTimestamp: Date.now() + (Number.isFinite(expiresIn) ? expiresIn : 3600) * 1000 };
      },
    });
  }
}

/**
 * Builds the credential for a method; errors name the missing setting. Its token requests go through `transport` (the
 * retry policy, pause window and stats of every way out): @azure/identity's MSAL-based credentials take it as their
 * `httpClient`, with their own pipeline retries off. Managed identity keeps the SDK's pipeline: its retry budget is
 * also its IMDS schedule (404 and 410 while the endpoint starts or upgrades, for over a minute, which no other service
 * warrants retrying), so the SDK retries could be neither turned off nor nested under the transport's.
 */
export function createEntraCredential(o: EntraOptions, transport = entraTransport([o.clientSecret, o.certificatePassword])): EntraCredential {
  const authorityHost = o.authorityHost?.replace(/\/+$/, '');
  const sdk = { ...(authorityHost ? { authorityHost } : {}), httpClient: azureHttpClient(transport), retryOptions: NO_SDK_RETRIES };
  const routed = (credential: TokenCredential): EntraCredential => ({
    getToken: (scopes, options) => credential.getToken(scopes, options),
    stats: transport.stats,
  });
  const need = (value: string | undefined, what: string): string => {
    if (!value) throw new Error(`${o.method} auth needs ${what}`);
    return value;
  };
  switch (o.method) {
    case 'client-secret': {
      const tenant = need(o.tenantId, 'tenantId (ADO_TENANT_ID / OCEAN__INTEGRATION__CONFIG__TENANT_ID)');
      const client = need(o.clientId, 'clientId (ADO_CLIENT_ID / OCEAN__INTEGRATION__CONFIG__CLIENT_ID)');
      const secret = need(o.clientSecret, 'clientSecret (ADO_CLIENT_SECRET / OCEAN__INTEGRATION__CONFIG__CLIENT_SECRET)');
      if (authorityHost?.startsWith('http://')) return new ClientCredentialsFetchCredential(authorityHost, tenant, client, secret, transport);
      return routed(new ClientSecretCredential(tenant, client, secret, sdk));
    }
    case 'client-certificate': {
      const tenant = need(o.tenantId, 'tenantId (ADO_TENANT_ID)');
      const client = need(o.clientId, 'clientId (ADO_CLIENT_ID)');
      const path = need(o.certificatePath, 'clientCertificatePath (ADO_CLIENT_CERTIFICATE_PATH)');
      if (!existsSync(path)) throw new Error(`clientCertificatePath (ADO_CLIENT_CERTIFICATE_PATH): ${path} does not exist`);
      const certificate = o.certificatePassword ? { certificatePath: path, certificatePassword: o.certificatePassword } : { certificatePath: path };
      return routed(new ClientCertificateCredential(tenant, client, certificate, sdk));
    }
    case 'managed-identity':
      return o.managedIdentityClientId ? new ManagedIdentityCredential({ clientId: o.managedIdentityClientId }) : new ManagedIdentityCredential();
    case 'workload-identity':
      // Defaults come from AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_FEDERATED_TOKEN_FILE (set by the AKS webhook).
      return routed(
        new WorkloadIdentityCredential({
          ...sdk,
          ...(o.tenantId ? { tenantId: o.tenantId } : {}),
          ...(o.clientId ? { clientId: o.clientId } : {}),
          ...(o.federatedTokenFile ? { tokenFilePath: o.federatedTokenFile } : {}),
        }),
      );
  }
}
