import type { Agent } from 'node:http';
import type { HttpClient, HttpHeaders, PipelineRequest, PipelineResponse, RawHttpHeaders } from '@azure/core-rest-pipeline';
import { errorMessage } from '../util/errors.js';
import { HttpError } from './errors.js';
import { RawBody } from './fetch.js';
import { retryableStatus, type Answer, type FailedRequest, type Transport } from './transport.js';

/** Retries of the Azure SDK pipeline to pass with `httpClient`, so that the transport's policy is the only one. */
export const NO_SDK_RETRIES = { maxRetries: 0 } as const;

/**
 * A retryable answer the transport may retry; once its retries are spent, the SDK gets the answer itself (a client of
 * the SDK reads its error body: Entra's AADSTS codes).
 */
class RetryableAnswer extends HttpError {
  constructor(readonly response: PipelineResponse) {
    super(`HTTP ${response.status}`, { status: response.status, retryable: true });
  }
}

/**
 * The shared transport as an Azure SDK `HttpClient` (@azure/core-rest-pipeline), for SDK clients given it as
 * `httpClient` with `retryOptions: NO_SDK_RETRIES`: their requests then get the transport's retry policy, pause window
 * and stats. Every answer goes back to the SDK as a response, as its own client does; one the policy retries (429,
 * 5xx, 408) only once the retries are spent. Text bodies only (what the identity flows send); the SDK's proxy agent
 * (`request.agent`, from HTTPS_PROXY) is used when it sets one.
 */
export function azureHttpClient(transport: Transport): HttpClient {
  return {
    async sendRequest(request: PipelineRequest): Promise<PipelineResponse> {
      if (new URL(request.url).protocol === 'http:' && !request.allowInsecureConnection) {
        throw new Error(`Cannot connect to ${request.url} while allowInsecureConnection is false.`);
      }
      if (request.body !== undefined && request.body !== null && typeof request.body !== 'string') {
        throw new Error(`${request.method} ${request.url}: only text request bodies are supported`);
      }
      if (request.formData || request.multipartBody || (request.streamResponseStatusCodes?.size ?? 0) > 0) {
        throw new Error(`${request.method} ${request.url}: form data, multipart bodies and streamed responses are not supported`);
      }
      const headers = request.headers.toJSON();
      const contentType = headers['content-type'] ?? 'text/plain';
      try {
        return await transport.send<PipelineResponse>({
          method: request.method,
          url: request.url,
          body: typeof request.body === 'string' ? new RawBody(request.body, contentType) : undefined,
          // The pipeline wraps the SDK's AbortSignalLike into a native AbortSignal (wrapAbortSignalLikePolicy).
          signal: request.abortSignal as AbortSignal | undefined,
          timeoutMs: request.timeout > 0 ? request.timeout : undefined,
          // A node:http(s) Agent at run time (the SDK types it structurally).
          agent: request.agent as Agent | undefined,
          headers: () => headers,
          read: (answer) => {
            const response = toResponse(request, answer);
            if (retryableStatus(answer.status)) throw new RetryableAnswer(response);
            return response;
          },
        });
      } catch (err) {
        if (err instanceof RetryableAnswer) return err.response;
        throw err;
      }
    },
  };
}

/**
 * The `describe` of a transport behind `azureHttpClient`: a retryable answer whose retries are spent passes as it is
 * (the SDK gets the response); anything else becomes an error naming the service and the request.
 */
export function describeForAzureSdk(service: string, scrub: (message: string) => string) {
  return (err: unknown, r: FailedRequest): Error =>
    err instanceof RetryableAnswer ? err : new Error(scrub(`${service}: ${r.label} failed after ${r.attempts} attempt(s): ${errorMessage(err)}`));
}

function toResponse(request: PipelineRequest, answer: Answer): PipelineResponse {
  return { request, status: answer.status, headers: new ResponseHeaders(answer.headers.toJSON()), bodyAsText: answer.text };
}

/** The SDK's HttpHeaders over an answer's headers (names are case-insensitive). */
class ResponseHeaders implements HttpHeaders {
  readonly #map = new Map<string, { name: string; value: string }>();

  constructor(raw: RawHttpHeaders) {
    for (const [name, value] of Object.entries(raw)) this.set(name, value);
  }
  get(name: string): string | undefined {
    return this.#map.get(name.toLowerCase())?.value;
  }
  has(name: string): boolean {
    return this.#map.has(name.toLowerCase());
  }
  set(name: string, value: string | number | boolean): void {
    this.#map.set(name.toLowerCase(), { name, value: String(value) });
  }
  delete(name: string): void {
    this.#map.delete(name.toLowerCase());
  }
  toJSON(options: { preserveCase?: boolean } = {}): RawHttpHeaders {
    const out: RawHttpHeaders = {};
    for (const [key, { name, value }] of this.#map) out[options.preserveCase ? name : key] = value;
    return out;
  }
  *[Symbol.iterator](): IterableIterator<[string, string]> {
    for (const [key, { value }] of this.#map) yield [key, value];
  }
}
