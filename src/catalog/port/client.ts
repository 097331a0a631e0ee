import type { Entity, SearchQuery } from '../entity.js';
import { PortApi } from './api.js';
import * as actions from './actionApi.js';
import * as runs from './actionRunApi.js';
import * as blueprints from './blueprintApi.js';
import * as entities from './entityApi.js';
import * as searches from './searchApi.js';
import type { PortAction } from './actionApi.js';
import type { PortActionRun, RunLog, RunPatch } from './actionRunApi.js';
import type { PortBlueprint } from './blueprintApi.js';
import type { EntityWriteResult, UpsertFlags } from './entityApi.js';
import type { PortEntity, SearchBody, SearchPage } from './searchApi.js';

/**
 * Port REST client: the API with its transport and token (api.ts), and one method per route of the resources this
 * worker uses, each defined in its resource's file: blueprints (blueprintApi.ts), entity writes and deletes
 * (entityApi.ts), search (searchApi.ts), self-service actions (actionApi.ts) and their runs (actionRunApi.ts).
 */
export class PortClient extends PortApi {
  // ------------------------------------------------------------------ blueprints

  /** The blueprint, or undefined when Port answers 404. */
  getBlueprint(identifier: string): Promise<PortBlueprint | undefined> {
    return blueprints.getBlueprint(this, identifier);
  }

  listBlueprints(): Promise<PortBlueprint[]> {
    return blueprints.listBlueprints(this);
  }

  createBlueprint(blueprint: PortBlueprint): Promise<PortBlueprint> {
    return blueprints.createBlueprint(this, blueprint);
  }

  patchBlueprint(identifier: string, patch: Partial<PortBlueprint>): Promise<PortBlueprint> {
    return blueprints.patchBlueprint(this, identifier, patch);
  }

  deleteBlueprint(identifier: string): Promise<void> {
    return blueprints.deleteBlueprint(this, identifier);
  }

  // ------------------------------------------------------------------ entity writes and deletes

  /** One entity, through the single-entity route. Never throws for a refusal of the entity; see `ok`. */
  upsertEntity(blueprint: string, entity: Entity, flags: UpsertFlags): Promise<EntityWriteResult> {
    return entities.upsertEntity(this, blueprint, entity, flags);
  }

  /** Bulk upsert in batches; results in the order of `entities`. Never throws (see `upsertEntityTexts`). */
  upsertEntities(blueprint: string, list: Entity[], flags: UpsertFlags): Promise<EntityWriteResult[]> {
    return entities.upsertEntityTexts(this, blueprint, list.map(entities.entityText), flags);
  }

  /** `upsertEntities` for entities already serialized by `entityText`. */
  upsertEntityTexts(blueprint: string, texts: string[], flags: UpsertFlags): Promise<EntityWriteResult[]> {
    return entities.upsertEntityTexts(this, blueprint, texts, flags);
  }

  /** Deletes one entity; false when it was already gone (404). */
  deleteEntity(blueprint: string, identifier: string, deleteDependents: boolean): Promise<boolean> {
    return entities.deleteEntity(this, blueprint, identifier, deleteDependents);
  }

  /** Bulk delete of at most 100 identifiers of one blueprint; returns what Port reports deleted. */
  bulkDelete(blueprint: string, identifiers: string[], deleteDependents: boolean): Promise<string[]> {
    return entities.bulkDelete(this, blueprint, identifiers, deleteDependents);
  }

  // ------------------------------------------------------------------ search

  /** One page of `POST /v1/blueprints/{bp}/entities/search`. */
  searchPage(blueprint: string, body: SearchBody): Promise<SearchPage> {
    return searches.searchPage(this, blueprint, body);
  }

  /** Every entity of a blueprint matching `query`, page by page, the next page asked for while the caller works. */
  search(blueprint: string, query?: SearchQuery, include?: string[], pageSize = 1000): AsyncGenerator<PortEntity[]> {
    return searches.search(this, blueprint, query, include, pageSize);
  }

  /** `POST /v1/entities/search` across blueprints (not paginated by Port). */
  searchAcross(query: SearchQuery, include?: string[]): Promise<PortEntity[]> {
    return searches.searchAcross(this, query, include);
  }

  // ------------------------------------------------------------------ actions and action runs

  /** The action definition, or undefined when Port answers 404. */
  getAction(identifier: string): Promise<PortAction | undefined> {
    return actions.getAction(this, identifier);
  }

  createAction(action: PortAction): Promise<PortAction> {
    return actions.createAction(this, action);
  }

  updateAction(action: PortAction): Promise<PortAction> {
    return actions.updateAction(this, action);
  }

  /** One log line of a run; with `terminationStatus` it ends the run. */
  addRunLog(runId: string, log: RunLog): Promise<void> {
    return runs.addRunLog(this, runId, log);
  }

  patchRun(runId: string, patch: RunPatch): Promise<void> {
    return runs.patchRun(this, runId, patch);
  }

  getRun(runId: string): Promise<PortActionRun> {
    return runs.getRun(this, runId);
  }
}
