/**
 * The TSA in the marketplace `npm start` runs: on its own port, certified by the marketplace CA,
 * reachable over real HTTP (RFC 3161 §3.4) and in-process (Marketplace.timestamper); a restart on
 * the same data directory keeps its certificate and continues its serials.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomNonce, requestTimestamp, verifyTimeStampToken } from '../../core/timestamp/index.js';
import { type Marketplace, startMarketplace } from '../../server/marketplace.js';
import { poolKeys } from '../core/payment/helpers.js';
import { opensslDir } from '../core/timestamp/helpers.js';
import { tempDataDir } from './helpers.js';

const tmp = tempDataDir('marketplace-tsa');
let market: Marketplace | undefined;

const start = () =>
  startMarketplace({
    dataDir: tmp.dir,
    caPort: 0,
    shopPort: 0,
    ttpPort: 0,
    bankPort: 0,
    tsaPort: 0,
    bank: { keyFactory: poolKeys(0), rotation: { values: [100] } },
  });

beforeAll(async () => {
  market = await start();
});

afterAll(async () => {
  await market?.close();
  tmp.remove();
});

const digestOf = async (text: string) => new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text)));

describe('the TSA in the marketplace', () => {
  let firstSerial = 0n;

  it('stamps over HTTP with a token that chains to the marketplace root, and writes tsa.pem', async () => {
    const m = market!;
    const digest = await digestOf('order 42');
    const nonce = randomNonce();
    const stamped = await requestTimestamp(fetch, `${m.tsaUrl}/tsa`, digest, nonce, { roots: [m.rootCertificate] });
    expect(stamped.nonce).toBe(nonce);
    expect(stamped.tsa.der).toBe(m.tsaCertificate);
    firstSerial = stamped.serialNumber;
    const pemPath = join(m.dataDir, 'tsa.pem');
    expect(existsSync(pemPath)).toBe(true);
    expect(readFileSync(pemPath, 'utf8')).toBe(m.tsaPem);
    // What OpenSSL reads from the served certificate: EKU timeStamping, critical.
    const ssl = opensslDir();
    try {
      ssl.write('tsa.pem', m.tsaPem);
      expect(ssl.run(['x509', '-in', 'tsa.pem', '-noout', '-ext', 'extendedKeyUsage']).out).toMatch(/critical\s+Time Stamping/);
    } finally {
      ssl.remove();
    }
  });

  it('stamps in-process through Marketplace.timestamper', async () => {
    const digest = await digestOf('verdict 7');
    const token = await market!.timestamper.stamp(digest);
    const verified = await verifyTimeStampToken(token, { digest, roots: [market!.rootCertificate] });
    expect(verified.serialNumber).toBeGreaterThan(firstSerial);
  });

  it('keeps its certificate and continues its serials after a restart', async () => {
    const before = market!;
    await before.close();
    market = await start();
    expect(market.tsaCertificate).toBe(before.tsaCertificate);
    const digest = await digestOf('after restart');
    const verified = await verifyTimeStampToken(await market.timestamper.stamp(digest), { digest, roots: [market.rootCertificate] });
    expect(verified.serialNumber).toBeGreaterThan(firstSerial + 1n);
  });
});
