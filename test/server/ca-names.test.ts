/**
 * Issue 8, item 9: the demo CA certifies no name that could pass for another — no mix of scripts
 * (a Cyrillic "о" in a Latin name), no whole-script look-alike, no bidi override or invisible
 * character — on every issuing path (merchant, TTP, shopper registration codes), while ordinary
 * names of any single script (and the combinations UTS #39 allows) are certified as before.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeyPair } from '../../core/crypto/index.js';
import { CaService } from '../../server/ca/index.js';
import { ENGINES, pgSchema } from '../helpers/engines.js';
import { tempDataDir } from './helpers.js';

const spoofed: [string, RegExp][] = [
  ['H\u043enest Shop GmbH', /mixes scripts \(Latin, Cyrillic\)/],
  ['Fogra Forschungsgesellschaft Druck e.\u0412.', /mixes scripts/],
  ['\u0391mazon Marketplace', /mixes scripts \(Latin, Greek\)/],
  ['\u0421\u041e\u0421\u0410', /look like Latin/],
  ['Honest \u202ESpohs', /U\+202E/],
  ['Honest\u200B Shop', /U\+200B/],
  ['Honest\u2066 Shop', /U\+2066/],
];

describe.each(ENGINES)('the demo CA on %s refuses names that could pass for another', (engine) => {
  const tmp = tempDataDir(`ca-names-${engine}`);
  let ca: CaService;

  beforeAll(async () => {
    ca = await CaService.open({ dataDir: tmp.dir, ...(engine === 'postgres' ? { databaseUrl: await pgSchema('canames') } : {}) });
  });

  afterAll(async () => {
    await ca?.close();
    tmp.remove();
  });

  it('merchant legal names', async () => {
    for (const [legalName, why] of spoofed) {
      const publicKey = (await generateKeyPair('ES256')).publicKey;
      await expect(ca.issueMerchantCertificate({ legalName, origins: ['http://127.0.0.1:9999'], publicKey }), legalName).rejects.toMatchObject({
        code: 'ERR_SCHEMA',
        message: expect.stringMatching(why),
      });
    }
  });

  it('TTP names', async () => {
    const publicKey = (await generateKeyPair('ES256')).publicKey;
    await expect(ca.issueTtpCertificate({ commonName: 'Semper Dem\u043e TTP', publicKey })).rejects.toMatchObject({ code: 'ERR_SCHEMA' });
  });

  it('shopper registration codes: refused when made for such a name', async () => {
    for (const [name, why] of spoofed) {
      await expect(ca.createRegistrationCode({ name }), name).rejects.toMatchObject({ code: 'ERR_SCHEMA', message: expect.stringMatching(why) });
    }
  });

  it('ordinary names of one script, and the allowed combinations, are certified', async () => {
    for (const legalName of [
      'Fogra Forschungsgesellschaft Druck e.V.',
      'Müller & Søn ApS',
      'ООО Ромашка',
      '株式会社 山田',
      'Tanaka 田中 さくら',
      'Ελληνικά Βιβλία Α.Ε.',
    ]) {
      const publicKey = (await generateKeyPair('ES256')).publicKey;
      const record = await ca.issueMerchantCertificate({ legalName, origins: ['http://127.0.0.1:9999'], publicKey });
      expect(record.commonName).toBe(legalName);
      // As stored and read back from the register.
      expect((await ca.getCertificate(record.serial))?.commonName).toBe(legalName);
    }
    for (const name of ['Demo Shopper', 'Иван Петров', '山田太郎']) expect(await ca.createRegistrationCode({ name })).toMatch(/^[0-9A-Z]{4}-/);
  });
});
