/** Produces the Authorization header for Azure DevOps requests. */
export interface AdoAuth {
  /** Human description for error messages, e.g. "personal access token". Never contains the secret. */
  readonly description: string;
  /** PATs lack scopes; Entra identities lack membership of the organization: errors give the matching advice. */
  readonly kind: 'pat' | 'entra';
  header(signal?: AbortSignal): Promise<string>;
  /** Called on 401; returns true when a fresh credential was obtained and the request is worth one more try. */
  refresh?(): Promise<boolean>;
  /** Secret strings to scrub from any message. */
  secrets(): string[];
}

/** PAT basic auth: empty user name, the token as password (works for Services and Server). */
export class PatAuth implements AdoAuth {
  readonly description = 'personal access token';
  readonly kind = 'pat' as const;
  readonly #value: string;
  readonly #pat: string;
  constructor(pat: string) {
    this.#pat = pat;
    this.#value = `Basic ${Buffer.from(`:${pat}`).toString('base64')}`;
  }
  async header(): Promise<string> {
    return this.#value;
  }
  secrets(): string[] {
    return [this.#pat];
  }
}
