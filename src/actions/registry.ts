/**
 * Every action this worker executes, by identifier. Adding one: a file of its family here (input schema with a
 * description per input, `additionalProperties: false`; its permissions; `run`), its line below, and its row in the
 * README's action table (a test checks it).
 */
import { addGroupMember, removeGroupMember } from './groupMembership.js';
import { runPipelineAction } from './pipelineRun.js';
import type { ActionDefinition } from './types.js';
import { addUserAction, changeAccessLevelAction, removeUserAction } from './userEntitlements.js';

export const ACTIONS: ActionDefinition[] = actionsWith();

/** The actions with the installation's settings (how often a pipeline run is read). */
export function actionsWith(o: { pipelinePollMs?: number } = {}): ActionDefinition[] {
  const follow = o.pipelinePollMs === undefined ? {} : { pollIntervalMs: o.pipelinePollMs };
  return [addGroupMember, removeGroupMember, addUserAction, changeAccessLevelAction, removeUserAction, runPipelineAction(follow)];
}

