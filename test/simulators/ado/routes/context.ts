/** What route modules need besides the request: simulator-wide settings. */
export interface RouteContext {
  /** Largest page an endpoint family serves (larger $top values are capped). */
  pageLimit(family: string): number;
}
