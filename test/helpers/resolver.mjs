/* global process */
// A stand-in name service for CLI tests, loaded with `node --import`: the hosts named in ADO_SYNC_TEST_NXDOMAIN
// (comma-separated) do not exist, as a DNS answer NXDOMAIN says; every other name resolves as usual. It lets a test
// meet "no such host" without asking any DNS server.
import dns from 'node:dns';

const missing = new Set((process.env.ADO_SYNC_TEST_NXDOMAIN ?? '').split(',').map((h) => h.trim().toLowerCase()).filter(Boolean));
const lookup = dns.lookup;
dns.lookup = function (host, ...rest) {
  if (missing.has(String(host).toLowerCase())) {
    const callback = rest[rest.length - 1];
    const err = Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND', syscall: 'getaddrinfo', hostname: host });
    process.nextTick(() => callback(err));
    return {};
  }
  return lookup.call(this, host, ...rest);
};
