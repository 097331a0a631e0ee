/**
 * Port's webhook signature (docs: "Validating Webhook signatures"): `x-port-timestamp` (seconds since the epoch) and
 * `x-port-signature`, `v1,` + base64 HMAC-SHA-256 of `${timestamp}.${rawBody}` keyed by the Port client secret. Several
 * signatures may be sent, separated by spaces (a key rotation); any valid one is enough. Comparison is constant-time; a
 * timestamp more than the tolerance away from now (older: a replay; newer: a forged or broken clock) is refused.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'x-port-signature';
export const TIMESTAMP_HEADER = 'x-port-timestamp';
/** Port's invocations are refused this long after (or before) their timestamp. */
export const SIGNATURE_TOLERANCE_SECONDS = 300;

export type SignatureCheck = { ok: true } | { ok: false; reason: string };

const FAIL = (reason: string): SignatureCheck => ({ ok: false, reason });

/** The headers alone (present, well-formed, fresh): checked before a byte of the body is read. */
export function checkSignatureHeaders(timestamp: unknown, signature: unknown, nowMs = Date.now(), toleranceSeconds = SIGNATURE_TOLERANCE_SECONDS): SignatureCheck {
  if (typeof timestamp !== 'string' || typeof signature !== 'string' || !timestamp || !signature) {
    return FAIL(`missing ${TIMESTAMP_HEADER} or ${SIGNATURE_HEADER} header (Port signs every invocation)`);
  }
  if (!/^\d{1,12}$/.test(timestamp.trim())) return FAIL(`${TIMESTAMP_HEADER} is not a number of seconds`);
  const skew = nowMs / 1000 - Number(timestamp.trim());
  if (skew > toleranceSeconds) return FAIL(`${TIMESTAMP_HEADER} is older than ${toleranceSeconds / 60} minutes (a replay?)`);
  if (-skew > toleranceSeconds) return FAIL(`${TIMESTAMP_HEADER} is more than ${toleranceSeconds / 60} minutes in the future`);
  return { ok: true };
}

/** The whole check: headers, then the HMAC over the raw body against each `v1,` signature sent. */
export function verifyPortSignature(o: {
  rawBody: Buffer | string;
  timestamp: unknown;
  signature: unknown;
  secret: string;
  nowMs?: number;
  toleranceSeconds?: number;
}): SignatureCheck {
  const headers = checkSignatureHeaders(o.timestamp, o.signature, o.nowMs, o.toleranceSeconds);
  if (!headers.ok) return headers;
  const expected = createHmac('sha256', o.secret)
    .update(`${String(o.timestamp).trim()}.`)
    .update(o.rawBody)
    .digest();
  let valid = false;
  // Every candidate is compared, so the time taken does not tell which one matched.
  for (const candidate of String(o.signature).trim().split(/\s+/)) {
    const comma = candidate.indexOf(',');
    if (comma < 0 || candidate.slice(0, comma) !== 'v1') continue;
    const given = Buffer.from(candidate.slice(comma + 1), 'base64');
    if (given.length === expected.length && timingSafeEqual(given, expected)) valid = true;
  }
  return valid ? { ok: true } : FAIL('invalid signature: it does not match the body signed with the Port client secret');
}
