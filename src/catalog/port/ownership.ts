/**
 * Ownership of catalog entities.
 *
 * Decision: like Ocean, ownership is the User-Agent. Port records the User-Agent of the last write as the entity's
 * `$datasource`, so every request carries `ado-catalog-sync/<version>/<integrationIdentifier>/exporter` and "our
 * entities" are those whose `$datasource` contains both `ado-catalog-sync/` and `/<integrationIdentifier>/exporter`.
 * The version segment is deliberately skipped when matching, so an upgrade does not orphan what older versions wrote.
 * Chosen over an explicit property because it needs no extra property on users' existing (Ocean) blueprints, and
 * ownership moves with the last writer exactly as Port shows it in its UI. An entity last written by someone else
 * (a user, GitOps, another installation) is therefore never deleted by this worker.
 */
import type { SearchRule } from '../entity.js';

export const USER_AGENT_PRODUCT = 'ado-catalog-sync';
export const USER_AGENT_FEATURE = 'exporter';

const IDENTIFIER = /^[A-Za-z0-9._@+:=-]+$/;

export function assertIntegrationIdentifier(id: string): void {
  if (!IDENTIFIER.test(id)) {
    throw new Error(
      `integration identifier "${id}" must be non-empty and use only letters, digits and . _ @ + : = - (it is part of the User-Agent that marks ownership)`,
    );
  }
}

export function userAgent(integrationIdentifier: string, version = 'unknown'): string {
  assertIntegrationIdentifier(integrationIdentifier);
  return `${USER_AGENT_PRODUCT}/${version.replace(/\//g, '-') || 'unknown'}/${integrationIdentifier}/${USER_AGENT_FEATURE}`;
}

/** Search rules selecting the entities last written by this integration instance (any worker version). */
export function ownershipRules(integrationIdentifier: string): SearchRule[] {
  assertIntegrationIdentifier(integrationIdentifier);
  return [
    { property: '$datasource', operator: 'contains', value: `${USER_AGENT_PRODUCT}/` },
    { property: '$datasource', operator: 'contains', value: `/${integrationIdentifier}/${USER_AGENT_FEATURE}` },
  ];
}
