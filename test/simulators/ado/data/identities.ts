import { Rng, Stream, rngFor } from '../random.js';
import type { OrgContext } from './context.js';
import type { IdentityRef } from './types.js';
import { FIRST_NAMES, LAST_NAMES } from './words.js';

/** Size of each organization's user pool (authors, reviewers, code owners). */
export const IDENTITY_POOL_SIZE = 24;

export class IdentitiesArea {
  readonly #ctx: OrgContext;
  #cache: IdentityRef[] | undefined;
  #cachedFor = '';

  constructor(ctx: OrgContext) {
    this.#ctx = ctx;
  }

  /** The pool, in index order. Rebuilt only if the simulator URL changed. */
  all(): IdentityRef[] {
    const base = this.#ctx.orgUrl();
    if (!this.#cache || this.#cachedFor !== base) {
      this.#cache = Array.from({ length: IDENTITY_POOL_SIZE }, (_, i) => this.#build(i, base));
      this.#cachedFor = base;
    }
    return this.#cache;
  }

  at(index: number): IdentityRef {
    return this.all()[index % IDENTITY_POOL_SIZE] as IdentityRef;
  }

  indexOfId(id: string): number {
    const lower = id.toLowerCase();
    return this.all().findIndex((u) => u.id === lower);
  }

  /** Lower-case alias used in branch names (users/{alias}/...). */
  alias(index: number): string {
    return (this.at(index).uniqueName.split('@')[0] ?? 'user').split('.')[0] ?? 'user';
  }

  #build(i: number, base: string): IdentityRef {
    const { seed, key, name } = this.#ctx;
    const rng: Rng = rngFor(seed, key, Stream.identity, i);
    const first = FIRST_NAMES[(i + rng.int(0, 3)) % FIRST_NAMES.length] as string;
    const last = LAST_NAMES[rng.int(0, LAST_NAMES.length - 1)] as string;
    const id = rng.guid();
    const descriptor = `aad.${Buffer.from(`${id}:${name}`).toString('base64url')}`;
    return {
      displayName: `${first} ${last}`,
      url: `${base}/_apis/Identities/${id}`,
      _links: { avatar: { href: `${base}/_apis/GraphProfile/MemberAvatars/${descriptor}` } },
      id,
      uniqueName: `${first}.${last}${i}@${name.toLowerCase()}.example.com`.toLowerCase(),
      imageUrl: `${base}/_api/_common/identityImage?id=${id}`,
      descriptor,
    };
  }
}
