import type { RunControl } from '../data/runControl.js';

/** What route modules need besides the request: simulator-wide settings. */
export interface RouteContext {
  /** Largest page an endpoint family serves (larger $top values are capped). */
  pageLimit(family: string): number;
  /** How runs queued through the runs API go on. */
  runs: RunControl;
}
