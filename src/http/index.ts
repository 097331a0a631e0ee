export { Transport, TransportStats, retryableStatus, MAX_THROTTLED_RETRIES, TOLD_JITTER_MS } from './transport.js';
export type { Answer, Exchange, FailedRequest, RetryPolicy, TransportHooks } from './transport.js';
export { HttpError, TransportError, type HttpErrorOptions, type TransportErrorOptions } from './errors.js';
export { fetchJson, JsonText, RawBody, type HeaderReader, type HttpResponse, type JsonRequest, type ResponseHeaderReader } from './fetch.js';
export { RateGovernor, parseRetryAfter, parseRateLimitReset, waitFromHeaders } from './governor.js';
export { describeRequest, redactUrl, withQuery, type Query, type QueryValue } from './url.js';
