export type QueryValue = string | number | boolean | undefined | null;
/** Query parameters; undefined and null are left out, an array repeats its parameter. */
export type Query = Record<string, QueryValue | readonly QueryValue[]>;

/** `url` with `query` added (the URL as given when there is no query). */
export function withQuery(url: string, query?: Query): string {
  if (!query) return url;
  const u = new URL(url);
  for (const [k, v] of Object.entries(query)) {
    if (Array.isArray(v)) {
      for (const x of v as readonly QueryValue[]) if (x !== undefined && x !== null) u.searchParams.append(k, String(x));
    } else if (v !== undefined && v !== null) {
      u.searchParams.set(k, String(v));
    }
  }
  return u.toString();
}

/** Query parameters that are long and opaque (continuation tokens): named in logs and messages, never shown. */
const OPAQUE_PARAMS = ['continuationToken'];

/** The URL for logs and messages: continuation tokens shown as `…`, the rest decoded to stay readable. */
export function redactUrl(url: string): string {
  const u = new URL(url);
  for (const name of OPAQUE_PARAMS) if (u.searchParams.has(name)) u.searchParams.set(name, '…');
  return decodeURIComponent(u.toString());
}

/** `GET https://…?continuationToken=…`: names a request in logs and errors; credentials never travel in URLs. */
export function describeRequest(method: string, url: string): string {
  return `${method} ${redactUrl(url)}`;
}
