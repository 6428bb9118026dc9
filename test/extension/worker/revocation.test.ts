import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeyPair } from '../../../core/crypto/index.js';
import { readCertificate, validateChain } from '../../../core/pki/index.js';
import { CaService, createCaApp } from '../../../server/ca/index.js';
import { CrlRevocationChecker } from '../../../extension/worker/revocation.js';
import { tempDataDir } from '../../server/helpers.js';

const CA_URL = 'http://ca.test';
const tmp = tempDataDir('revocation');
let ca: CaService;
let clock = Date.now();
let fetches: string[] = [];
let caDown = false;

// The CA's real Hono app stands in for the network: the worker's fetch goes to app.request.
const fetchImpl = (async (input: URL | RequestInfo, init?: RequestInit) => {
  const url = String(input);
  fetches.push(url);
  if (caDown) throw new TypeError('fetch failed');
  return createCaApp(ca, { now: () => clock }).request(url.replace(CA_URL, ''), init);
}) as typeof fetch;

async function merchant(): Promise<{ chain: string[]; serial: string }> {
  const keys = await generateKeyPair('ES256');
  const record = await ca.issueMerchantCertificate({ legalName: 'Shop GmbH', origins: ['https://shop.example'], publicKey: keys.publicKey });
  return { chain: [record.certificate], serial: record.serial };
}

beforeAll(async () => {
  ca = await CaService.open({ dataDir: tmp.dir, crlUrl: `${CA_URL}/ca/crl.der`, now: () => clock });
});
afterAll(async () => {
  await ca.close();
  tmp.remove();
});

describe('the worker checks the CRL its certificates name', () => {
  it('accepts a good certificate, refuses a revoked one, and caches the CRL until its nextUpdate', async () => {
    const checker = new CrlRevocationChecker({ fetchImpl });
    const good = await merchant();
    const bad = await merchant();
    expect((await readCertificate(good.chain[0]!)).crlUrls).toEqual([`${CA_URL}/ca/crl.der`]);
    await ca.revoke(bad.serial, 'keyCompromise');
    fetches = [];
    // As the host does: prepare the chains an event carries, then the step validates them.
    const validate = async (chain: string[]) => {
      await checker.prepare([chain], [ca.rootCertificate], clock);
      return validateChain(chain, { roots: [ca.rootCertificate], now: new Date(clock), isRevoked: checker.isRevoked });
    };
    await expect(validate(good.chain)).resolves.toMatchObject({ leaf: { commonName: 'Shop GmbH' } });
    await expect(validate(bad.chain)).rejects.toMatchObject({ code: 'ERR_CERT_REVOKED' });
    expect(fetches).toEqual([`${CA_URL}/ca/crl.der`]);
    // After nextUpdate the CRL is fetched again.
    clock += 16 * 60_000;
    await ca.revoke(good.serial, 'cessationOfOperation');
    await expect(validate(good.chain)).rejects.toMatchObject({ code: 'ERR_CERT_REVOKED' });
    expect(fetches).toHaveLength(2);
    clock = Date.now();
  });

  it('fails closed when the CRL a certificate names cannot be had', async () => {
    const checker = new CrlRevocationChecker({ fetchImpl });
    const m = await merchant();
    caDown = true;
    try {
      await checker.prepare([m.chain], [ca.rootCertificate], clock);
      await expect(validateChain(m.chain, { roots: [ca.rootCertificate], now: new Date(clock), isRevoked: checker.isRevoked })).rejects.toMatchObject({
        code: 'ERR_REVOCATION_UNKNOWN',
      });
    } finally {
      caDown = false;
    }
  });

  it('a certificate without a distribution point carries no revocation information', async () => {
    const checker = new CrlRevocationChecker({ fetchImpl });
    const quiet = await CaService.open({ dataDir: tempDataDir('revocation-quiet').dir });
    const keys = await generateKeyPair('ES256');
    const record = await quiet.issueMerchantCertificate({ legalName: 'Old Shop', origins: ['https://old.example'], publicKey: keys.publicKey });
    fetches = [];
    await checker.prepare([[record.certificate]], [quiet.rootCertificate], Date.now());
    await expect(validateChain([record.certificate], { roots: [quiet.rootCertificate], now: new Date(), isRevoked: checker.isRevoked })).resolves.toBeDefined();
    expect(fetches).toEqual([]);
    quiet.close();
  });

  it('the step never fetches: a chain nobody prepared has no status, and validation fails closed', async () => {
    const checker = new CrlRevocationChecker({ fetchImpl });
    const m = await merchant();
    fetches = [];
    await expect(validateChain(m.chain, { roots: [ca.rootCertificate], now: new Date(clock), isRevoked: checker.isRevoked })).rejects.toMatchObject({
      code: 'ERR_REVOCATION_UNKNOWN',
    });
    expect(fetches).toEqual([]);
    // A stale prepared CRL (the step's time is past its nextUpdate) is no status either.
    await checker.prepare([m.chain], [ca.rootCertificate], clock);
    await checker.prepare([], [ca.rootCertificate], clock + 60 * 60_000);
    await expect(validateChain(m.chain, { roots: [ca.rootCertificate], now: new Date(clock), isRevoked: checker.isRevoked })).rejects.toMatchObject({
      code: 'ERR_REVOCATION_UNKNOWN',
    });
  });
});
