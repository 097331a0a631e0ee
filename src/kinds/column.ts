import { IncompleteListingError } from '../ado/errors.js';
import { listBoards } from './shared/boards.js';
import type { FetchContext, KindDefinition, RawItem, Selector } from './types.js';

/** One item per (board column × state mapping): the column plus `__board`, `__stateType` and `__stateName`. */
async function* fetchColumns(ctx: FetchContext): AsyncGenerator<RawItem[]> {
  let page: RawItem[] = [];
  for (const board of await listBoards(ctx)) {
    const { columns, ...rest } = board;
    // Every board has columns: a board answer without them is incomplete, not a board whose columns were all deleted.
    if (!Array.isArray(columns)) throw new IncompleteListingError(`board "${String(board.name ?? board.id)}": the board answer has no "columns" array`);
    for (const column of columns) {
      for (const [stateType, stateName] of Object.entries(column?.stateMappings ?? {})) {
        page.push({ ...column, __board: { ...rest, columns }, __stateType: stateType, __stateName: stateName });
        if (page.length >= ctx.pageSize) {
          yield page;
          page = [];
        }
      }
    }
  }
  if (page.length > 0) yield page;
}

export const columnKind: KindDefinition<Selector> = {
  kind: 'column',
  description: 'Board columns, one item per column and work item type it maps',
  serverSupported: true,
  docs: { endpoints: 'the board listing (shared with board within a run)', enrichment: ['__board', '__stateType', '__stateName'] },
  selectorSchema: { type: 'object', properties: {} },
  fetch: fetchColumns,
};
