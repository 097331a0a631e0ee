/** Azure DevOps error bodies (`{ $id, innerException, message, typeName, typeKey, errorCode, eventId }`). */

export interface AdoErrorBody {
  $id: string;
  innerException: null;
  message: string;
  typeName: string;
  typeKey: string;
  errorCode: number;
  eventId: number;
}

const NAMESPACES: Record<string, string> = {
  UnauthorizedRequestException: 'Microsoft.TeamFoundation.Framework.Server.UnauthorizedRequestException, Microsoft.TeamFoundation.Framework.Server',
  RequestBlockedException: 'Microsoft.TeamFoundation.Framework.Server.RequestBlockedException, Microsoft.TeamFoundation.Framework.Server',
  ProjectDoesNotExistWithNameException: 'Microsoft.TeamFoundation.Core.WebApi.ProjectDoesNotExistWithNameException, Microsoft.TeamFoundation.Core.WebApi',
  GitRepositoryNotFoundException: 'Microsoft.TeamFoundation.Git.Server.GitRepositoryNotFoundException, Microsoft.TeamFoundation.Git.Server',
  GitPullRequestNotFoundException: 'Microsoft.TeamFoundation.Git.Server.GitPullRequestNotFoundException, Microsoft.TeamFoundation.Git.Server',
  GitItemNotFoundException: 'Microsoft.TeamFoundation.Git.Server.GitItemNotFoundException, Microsoft.TeamFoundation.Git.Server',
  GitUnresolvableToCommitException: 'Microsoft.TeamFoundation.Git.Server.GitUnresolvableToCommitException, Microsoft.TeamFoundation.Git.Server',
};

export function errorBody(message: string, typeKey: string, eventId = 3000): AdoErrorBody {
  return {
    $id: '1',
    innerException: null,
    message,
    typeName: NAMESPACES[typeKey] ?? `Microsoft.VisualStudio.Services.WebApi.${typeKey}, Microsoft.VisualStudio.Services.WebApi`,
    typeKey,
    errorCode: 0,
    eventId,
  };
}

/** Thrown by route handlers; the error handler turns it into the JSON error response. */
export class AdoHttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly typeKey: string,
  ) {
    super(message);
  }

  body(): AdoErrorBody {
    return errorBody(this.message, this.typeKey);
  }
}

export const errors = {
  badRequest: (message: string, typeKey = 'ArgumentException') => new AdoHttpError(400, message, typeKey),
  organization: (org: string) =>
    new AdoHttpError(404, `TF400813: The organization '${org}' could not be found or you do not have access to it.`, 'HostNotFoundException'),
  route: (path: string) =>
    new AdoHttpError(404, `The resource '${path}' was not found. Check the route and the api-version.`, 'ResourceNotFoundException'),
  project: (name: string) =>
    new AdoHttpError(
      404,
      `TF200016: The following project does not exist: ${name}. Verify that the name of the project is correct and that the project exists on the specified Azure DevOps Server.`,
      'ProjectDoesNotExistWithNameException',
    ),
  repository: (idOrName: string) =>
    new AdoHttpError(
      404,
      `TF401019: The Git repository with name or identifier ${idOrName} does not exist or you do not have permissions for the operation you are attempting.`,
      'GitRepositoryNotFoundException',
    ),
  pullRequest: (id: string) =>
    new AdoHttpError(404, `TF401180: The requested pull request was not found. (id ${id})`, 'GitPullRequestNotFoundException'),
  item: (path: string, repo: string, version: string) =>
    new AdoHttpError(
      404,
      `TF401174: The item '${path}' could not be found in the repository '${repo}' at the version specified by '<${version}>'.`,
      'GitItemNotFoundException',
    ),
  version: (version: string, repo: string) =>
    new AdoHttpError(
      404,
      `TF401175: The version descriptor <${version}> could not be resolved to a version in the repository ${repo}`,
      'GitUnresolvableToCommitException',
    ),
};
