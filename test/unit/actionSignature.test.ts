import { describe, expect, it } from '@jest/globals';
import { createHmac } from 'node:crypto';
import { checkSignatureHeaders, verifyPortSignature } from '../../src/actions/signature.js';

const SECRET = 'port-client-secret-7f3a';
const NOW = 1_750_000_000_000;
const TS = String(NOW / 1000);
const BODY = '{"action":"ado_add_user","port_context":{"runId":"r_1"}}';

/** As Port signs (docs: "Validating Webhook signatures"). */
const sign = (body: string, ts = TS, secret = SECRET) => `v1,${createHmac('sha256', secret).update(`${ts}.${body}`).digest('base64')}`;
const verify = (o: { body?: string; ts?: unknown; sig?: unknown; now?: number }) =>
  verifyPortSignature({ rawBody: Buffer.from(o.body ?? BODY), timestamp: 'ts' in o ? o.ts : TS, signature: 'sig' in o ? o.sig : sign(BODY), secret: SECRET, nowMs: o.now ?? NOW });

describe("Port's webhook signature", () => {
  it('accepts the signature of the raw body, and any valid one among several', () => {
    expect(verify({})).toEqual({ ok: true });
    expect(verify({ sig: `v1,${Buffer.alloc(32).toString('base64')} ${sign(BODY)}` })).toEqual({ ok: true });
    expect(verify({ sig: `${sign(BODY, TS, 'old-secret')}   ${sign(BODY)}` })).toEqual({ ok: true });
  });

  it('refuses a wrong key, an altered body, another version, garbage and a signature of another timestamp', () => {
    for (const sig of [sign(BODY, TS, 'wrong'), sign(`${BODY} `), sign(BODY).replace('v1,', 'v2,'), sign(BODY).slice(3), 'v1,', 'v1,!!!', sign(BODY, String(Number(TS) - 1))]) {
      const r = verify({ sig });
      expect([sig, r.ok]).toEqual([sig, false]);
    }
    expect(verify({ body: BODY.replace('r_1', 'r_2') })).toEqual({ ok: false, reason: expect.stringContaining('invalid signature') });
  });

  it('refuses missing headers and a timestamp more than 5 minutes old or ahead', () => {
    expect(verify({ sig: undefined })).toEqual({ ok: false, reason: expect.stringContaining('missing') });
    expect(verify({ ts: undefined })).toEqual({ ok: false, reason: expect.stringContaining('missing') });
    expect(verify({ ts: 'yesterday' })).toEqual({ ok: false, reason: expect.stringContaining('not a number') });
    const stale = String(NOW / 1000 - 301);
    expect(verifyPortSignature({ rawBody: BODY, timestamp: stale, signature: sign(BODY, stale), secret: SECRET, nowMs: NOW })).toEqual({ ok: false, reason: expect.stringContaining('older than 5 minutes') });
    const ahead = String(NOW / 1000 + 301);
    expect(verifyPortSignature({ rawBody: BODY, timestamp: ahead, signature: sign(BODY, ahead), secret: SECRET, nowMs: NOW })).toEqual({ ok: false, reason: expect.stringContaining('future') });
    const recent = String(NOW / 1000 - 299);
    expect(verifyPortSignature({ rawBody: BODY, timestamp: recent, signature: sign(BODY, recent), secret: SECRET, nowMs: NOW })).toEqual({ ok: true });
    expect(checkSignatureHeaders(TS, 'v1,x', NOW)).toEqual({ ok: true });
  });
});
