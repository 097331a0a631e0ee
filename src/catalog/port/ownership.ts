/**
 * Ownership of catalog entities.
 *
 * Decision: like Ocean, ownership is the User-Agent. Port records the User-Agent of the last write as the entity's
 * `$datasource`, so every request carries `ado-catalog-sync/<version>/<integrationIdentifier>/exporter` and "our
 * entities" are those whose `$datasource` begins with `ado-catalog-sync/` and ends with `/<integrationIdentifier>/exporter`.
 * The version segment (which never holds a `/`) is deliberately skipped when matching, so an upgrade does not orphan
 * what older versions wrote. Prefix and suffix are anchored: a substring match would also take another product's
 * entities whose user agent merely contains ours (`port-ocean/azure-devops/0.3.1/ado-catalog-sync/exporter`).
 * Chosen over an explicit property because it needs no extra property on users' existing (Ocean) blueprints, and
 * ownership moves with the last writer exactly as Port shows it in its UI. An entity last written by someone else
 * (a user, GitOps, another installation) is therefore never deleted by this worker.
 *
 * Migration from Ocean: with an adopted Ocean identifier, entities last written by Ocean's Azure DevOps integration
 * with that identifier count as owned too (so stale deletion keeps working across the switch); every write this worker
 * makes stamps them as its own.
 */
import type { SearchQuery } from '../entity.js';

export const USER_AGENT_PRODUCT = 'ado-catalog-sync';
export const USER_AGENT_FEATURE = 'exporter';
/** The datasource prefix of Ocean's Azure DevOps integration (`port-ocean/<type>/<version>/<identifier>/<feature>`). */
export const OCEAN_AZURE_DEVOPS_PREFIX = 'port-ocean/azure-devops/';

const IDENTIFIER = /^[A-Za-z0-9._@+:=-]+$/;

export function assertIntegrationIdentifier(id: string, what = 'integration identifier'): void {
  if (!IDENTIFIER.test(id)) {
    throw new Error(
      `${what} "${id}" must be non-empty and use only letters, digits and . _ @ + : = - (it is part of the User-Agent that marks ownership)`,
    );
  }
}

export function userAgent(integrationIdentifier: string, version = 'unknown'): string {
  assertIntegrationIdentifier(integrationIdentifier);
  return `${USER_AGENT_PRODUCT}/${version.replace(/\//g, '-') || 'unknown'}/${integrationIdentifier}/${USER_AGENT_FEATURE}`;
}

/** Whose entities a search selects: this installation's, or those of the Ocean installation it adopts. */
export type Owner = 'ours' | 'adopted';

/** Entities last written by this integration instance (any worker version). */
export function ownershipQuery(integrationIdentifier: string): SearchQuery {
  assertIntegrationIdentifier(integrationIdentifier);
  return datasourceQuery(`${USER_AGENT_PRODUCT}/`, `/${integrationIdentifier}/${USER_AGENT_FEATURE}`);
}

/** Entities last written by Ocean's Azure DevOps integration installed as `oceanIdentifier` (any Ocean version). */
export function oceanOwnershipQuery(oceanIdentifier: string): SearchQuery {
  assertIntegrationIdentifier(oceanIdentifier, 'adopted Ocean identifier');
  return datasourceQuery(OCEAN_AZURE_DEVOPS_PREFIX, `/${oceanIdentifier}/${USER_AGENT_FEATURE}`);
}

/** Ours, or (when adopting) the adopted Ocean installation's: what live events may delete. */
export function ownedByAnyQuery(integrationIdentifier: string, oceanIdentifier?: string): SearchQuery {
  const ours = ownershipQuery(integrationIdentifier);
  return oceanIdentifier ? { combinator: 'or', rules: [ours, oceanOwnershipQuery(oceanIdentifier)] } : ours;
}

function datasourceQuery(prefix: string, suffix: string): SearchQuery {
  return {
    combinator: 'and',
    rules: [
      { property: '$datasource', operator: 'beginsWith', value: prefix },
      { property: '$datasource', operator: 'endsWith', value: suffix },
    ],
  };
}
