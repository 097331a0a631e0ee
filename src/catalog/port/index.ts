export { PortClient, DEFAULT_PORT_CLIENT_OPTIONS, portBody, entityText, waitFromHeaders } from './client.js';
export type { PortClientOptions, UpsertFlags, EntityWriteResult, PortBlueprint, PortEntity, SearchPage } from './client.js';
export { PortApiError, PortAuthError } from './errors.js';
export { PORT_BASE_URLS, resolvePortBaseUrl, type PortSettings } from './settings.js';
export { userAgent, ownershipQuery, oceanOwnershipQuery, ownedByAnyQuery, USER_AGENT_PRODUCT, USER_AGENT_FEATURE } from './ownership.js';
export { bootstrapBlueprints, loadBlueprintFiles, type BootstrapResult, type BlueprintFile } from './blueprints.js';
export { PortCatalog, type OwnedEntity, type DeleteResult, type PortCatalogOptions } from './catalog.js';
export { textHash } from './hash.js';
export { TokenCache, type PortToken } from './token.js';
