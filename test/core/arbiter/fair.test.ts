/**
 * The arbiter's rules on fair purchases (goods key sealed to the TTP, the bank's proof as the money
 * item), from real runs of both machines, the real bank and the TTP in-process: goods not
 * delivered (key held, key revealed by the TTP, a void seal, no TTP answer yet), goods that do not
 * match (a wrong key signed by the merchant), and a TTP that signed two conflicting decisions.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decodeBase64url, encodeBase64url, sha256 } from '../../../core/encoding/index.js';
import { seal } from '../../../core/crypto/seal.js';
import { sealedAad } from '../../../core/items/schema.js';
import { EXCHANGE_TYPES, TTP_TYPES } from '../../../core/exchange/messages.js';
import { nowIso, signStatement, type Statement } from '../../../core/statements/index.js';
import { closeCheckingInvariants } from '../payment/helpers.js';
import { affidavitOf, type ArbiterWorld, ciphertextOf, confirmedFair, FairRun, fairEvidence, file, makeArbiterWorld, payAtBank } from './fixtures.js';

let w: ArbiterWorld;
beforeEach(async () => {
  w = await makeArbiterWorld();
});
afterEach(() => closeCheckingInvariants(w.bank));

async function paidRun(o: { withhold?: boolean; voidSeal?: boolean; askTtp?: boolean } = {}): Promise<FairRun> {
  const run = new FairRun(w);
  if (o.withhold) run.withhold.add(EXCHANGE_TYPES.deliver);
  if (o.voidSeal) {
    const real = run.merchantStep.bind(run);
    run.merchantStep = async (event) => {
      if (event.type !== 'offer-requested') return real(event);
      const digest = encodeBase64url(await sha256(decodeBase64url(event.prepared.key)));
      const box = await seal(
        run.sealingJwk(),
        crypto.getRandomValues(new Uint8Array(32)),
        sealedAad(run.shopper.dealId, w.merchant.identity.signer.keyId, { field: 'key', digest }),
      );
      return real({ ...event, prepared: { key: event.prepared.key, box } });
    };
  }
  await confirmedFair(run, 'cash');
  await run.pump((req) => payAtBank(w, w.shopper, req));
  if (o.askTtp) {
    for (let i = 0; i < 6 && run.shopper.phase === 'exchanging'; i++) {
      await run.shopperTimeout();
      await run.pump();
    }
  }
  return run;
}

async function stranger() {
  const { generateKeyPair, signerFromKeyPair } = await import('../../../core/crypto/index.js');
  return signerFromKeyPair('ES256', await generateKeyPair('ES256'));
}

const shopperFiles = (run: FairRun, claim: 'goods-not-delivered' | 'goods-mismatch' | 'ttp-conflict', statements = fairEvidence(run), withCiphertext = false) =>
  file(w, w.shopper.signer, { claim, dealId: run.shopper.dealId, statements, ...(withCiphertext ? { attachments: [ciphertextOf(run)] } : {}) });

describe('goods-not-delivered (fair purchase)', () => {
  it('dismissed: the honest merchant’s m3 gave the shopper the key; the cheating shopper claims nothing came', async () => {
    const run = await paidRun();
    expect(run.shopper.phase).toBe('completed');
    const j = await shopperFiles(run, 'goods-not-delivered');
    expect(j.verdict).toMatchObject({ decision: 'dismissed', rule: 'goods-not-delivered/key-held' });
    expect(j.verdict.reasons[0]).toMatch(/semper\.goods\.key/);
  });

  it('dismissed: the merchant withheld m3 but the TTP revealed the key to the shopper', async () => {
    const run = await paidRun({ withhold: true, askTtp: true });
    expect(run.shopper.phase).toBe('completed');
    const j = await shopperFiles(run, 'goods-not-delivered');
    expect(j.verdict.decision).toBe('dismissed');
    expect(j.verdict.reasons[0]).toMatch(/semper\.(ttp\.affidavit|goods\.key)/);
  });

  it('upheld: the cheating merchant sealed a void key; the TTP’s affidavit says unsealable and the bank proves the payment', async () => {
    const run = await paidRun({ withhold: true, voidSeal: true, askTtp: true });
    expect(run.shopper.phase).toBe('failed');
    const j = await shopperFiles(run, 'goods-not-delivered');
    expect(j.verdict).toMatchObject({ decision: 'upheld', rule: 'goods-not-delivered/void-seal' });
    expect(j.verdict.reasons.join('\n')).toMatch(/semper\.ttp\.affidavit .*void/);
    expect(j.verdict.reasons.join('\n')).toMatch(/semper\.payment\.proof/);
    expect(j.verdict.remedy).toMatch(/refunds 3\.00 CHF/);
    // Without the bank's proof the same affidavit decides nothing: undecided, the proof is what is missing.
    // (The proof also travels inside m2, the complaint to the TTP and its resolution: all left out.)
    const carriesProof: string[] = ['semper.payment.proof', EXCHANGE_TYPES.accept, EXCHANGE_TYPES.complaint, TTP_TYPES.resolution];
    const noProof = fairEvidence(run).filter((s) => !carriesProof.includes(s.type));
    expect(noProof.some((s) => s.type === TTP_TYPES.affidavit)).toBe(true);
    const k = await shopperFiles(run, 'goods-not-delivered', noProof);
    expect(k.verdict).toMatchObject({ decision: 'undecided', rule: 'goods-not-delivered/unpaid' });
  });

  it('undecided: paid, m3 withheld, and the TTP not yet asked: the verdict says the TTP’s answer is missing', async () => {
    const run = await paidRun({ withhold: true });
    expect(run.shopper.phase).toBe('exchanging');
    const j = await shopperFiles(run, 'goods-not-delivered');
    expect(j.verdict).toMatchObject({ decision: 'undecided', rule: 'goods-not-delivered/awaiting-ttp' });
    expect(j.verdict.missing?.[0]).toMatch(/TTP's answer/);
  });

  it('upheld: the TTP aborted the exchange after the shopper paid', async () => {
    const run = await paidRun({ withhold: true });
    const m1 = fairEvidence(run).find((s) => s.type === EXCHANGE_TYPES.propose)!;
    const { exchangeIdOf } = await import('../../../core/exchange/common.js');
    const token = (await signStatement(
      {
        type: TTP_TYPES.abortToken,
        version: 1,
        dealId: run.shopper.dealId,
        issuedAt: nowIso(w.clock.now),
        body: {
          exchangeId: await exchangeIdOf(m1),
          protocol: 'generatable-verifiable',
          reason: 'deadline-passed',
          requestedBy: w.merchant.identity.signer.keyId,
        },
      },
      w.ttp.signer,
      { signerRef: w.ttp.signerRef! },
    )) as Statement;
    const j = await shopperFiles(run, 'goods-not-delivered', [...fairEvidence(run), token]);
    expect(j.verdict).toMatchObject({ decision: 'upheld', rule: 'goods-not-delivered/paid-aborted' });
  });
  it('an affidavit signed by someone else than the TTP decides nothing', async () => {
    const run = await paidRun({ withhold: true });
    const m1 = fairEvidence(run).find((s) => s.type === EXCHANGE_TYPES.propose)!;
    const fake = (await signStatement(await affidavitOf(w, run, m1, 'says the stranger'), await stranger())) as Statement;
    const j = await shopperFiles(run, 'goods-not-delivered', [...fairEvidence(run), fake]);
    expect(j.verdict).toMatchObject({ decision: 'undecided', rule: 'goods-not-delivered/awaiting-ttp' });
  });
});

describe('goods-mismatch (fair purchase)', () => {
  it('dismissed: the key decrypts the committed ciphertext to the committed goods', async () => {
    const run = await paidRun();
    const j = await shopperFiles(run, 'goods-mismatch', fairEvidence(run), true);
    expect(j.verdict).toMatchObject({ decision: 'dismissed', rule: 'goods-mismatch/matches' });
  });

  it('upheld: the cheating merchant’s offer commits to goods its ciphertext does not hold (the committed key opens other bytes)', async () => {
    const run = await paidRun();
    const evidence = fairEvidence(run);
    const ref = { signerRef: { kind: 'x509' as const, chain: w.merchant.identity.chain } };
    const { statementDigest } = await import('../../../core/statements/index.js');
    type Offer = { goods: Record<string, unknown> };
    const offer = evidence.find((s) => s.type === 'semper.fair.offer') as Statement<Offer>;
    const promised = encodeBase64url(await sha256(new TextEncoder().encode('the recording the shopper was promised')));
    // What the merchant signed: an offer naming goods the ciphertext does not hold, the key statement for them.
    const lying = (await signStatement(
      { ...offer, body: { ...offer.body, goods: { ...offer.body.goods, digest: promised } } },
      w.merchant.identity.signer,
      ref,
    )) as Statement;
    const key =
      evidence.find((s) => s.type === 'semper.goods.key') ??
      (evidence.find((s) => s.type === EXCHANGE_TYPES.deliver)!.body as { item: { statement: Statement } }).item.statement;
    const keyStatement = (await signStatement({ ...key, body: { ...key.body, goods: promised } }, w.merchant.identity.signer, ref)) as Statement;
    const start = evidence.find((s) => s.type === 'semper.fair.start')!;
    const myStart = (await signStatement({ ...start, body: { ...start.body, offer: await statementDigest(lying) } }, w.shopper.signer)) as Statement;
    const rest = evidence.filter((s) => !['semper.fair.offer', 'semper.fair.start', 'semper.goods.key', EXCHANGE_TYPES.deliver].includes(s.type));
    const j = await shopperFiles(run, 'goods-mismatch', [lying, myStart, keyStatement, ...rest], true);
    expect(j.verdict).toMatchObject({ decision: 'upheld', rule: 'goods-mismatch/goods-differ' });
  });

  it('a key statement signed by someone else than the merchant is not the merchant’s key', async () => {
    const run = await paidRun();
    const evidence = fairEvidence(run);
    const m3 = evidence.find((s) => s.type === EXCHANGE_TYPES.deliver)!;
    const item = (m3.body as { item: { statement: Statement } }).item.statement;
    const notTheMerchants = (await signStatement({ ...item, body: { ...item.body, key: encodeBase64url(new Uint8Array(32)) } }, await stranger())) as Statement;
    const withoutRealKey = evidence.filter((s) => s.type !== EXCHANGE_TYPES.deliver && s.type !== 'semper.goods.key');
    const j = await shopperFiles(run, 'goods-mismatch', [notTheMerchants, ...withoutRealKey], true);
    expect(j.verdict).toMatchObject({ decision: 'undecided', rule: 'goods-mismatch/no-key' });
  });

  it('undecided without the ciphertext to try the key on', async () => {
    const run = await paidRun();
    const j = await shopperFiles(run, 'goods-mismatch');
    expect(j.verdict).toMatchObject({ decision: 'undecided', rule: 'goods-mismatch/no-ciphertext' });
  });

  it('upheld: the cheating merchant signed a key statement with another key than its offer committed to', async () => {
    const run = await paidRun();
    const evidence = fairEvidence(run);
    const m3 = evidence.find((s) => s.type === EXCHANGE_TYPES.deliver)!;
    const item = (m3.body as { item: { statement: Statement } }).item.statement;
    const ref = { signerRef: { kind: 'x509' as const, chain: w.merchant.identity.chain } };
    const wrongKey = (await signStatement(
      { ...item, body: { ...item.body, key: encodeBase64url(new Uint8Array(32)) } },
      w.merchant.identity.signer,
      ref,
    )) as Statement;
    const forgedM3 = (await signStatement(
      { ...m3, body: { ...m3.body, item: { kind: 'statement', statement: wrongKey } } },
      w.merchant.identity.signer,
      ref,
    )) as Statement;
    const withoutRealKey = evidence.filter((s) => s.type !== EXCHANGE_TYPES.deliver && s.type !== 'semper.goods.key');
    const j = await shopperFiles(run, 'goods-mismatch', [...withoutRealKey, forgedM3], true);
    expect(j.verdict).toMatchObject({ decision: 'upheld', rule: 'goods-mismatch/wrong-key' });
  });
});

describe('ttp-conflict', () => {
  it('dismissed: the honest TTP’s resolution and the affidavit in it agree', async () => {
    const run = await paidRun({ withhold: true, askTtp: true });
    const j = await shopperFiles(run, 'ttp-conflict');
    expect(j.verdict).toMatchObject({ decision: 'dismissed', rule: 'ttp-conflict/consistent' });
  });

  it('upheld: the cheating TTP also signed an abort token for the exchange it resolved', async () => {
    const run = await paidRun({ withhold: true, askTtp: true });
    const evidence = fairEvidence(run);
    const resolution = evidence.find((s) => s.type === TTP_TYPES.resolution)!;
    const exchangeId = (resolution.body as { exchangeId: string }).exchangeId;
    const token = (await signStatement(
      {
        type: TTP_TYPES.abortToken,
        version: 1,
        dealId: run.shopper.dealId,
        issuedAt: nowIso(w.clock.now),
        body: { exchangeId, protocol: 'generatable-verifiable', reason: 'abort-request', requestedBy: w.merchant.identity.signer.keyId },
      },
      w.ttp.signer,
      { signerRef: w.ttp.signerRef! },
    )) as Statement;
    const j = await shopperFiles(run, 'ttp-conflict', [...evidence, token]);
    expect(j.verdict).toMatchObject({ decision: 'upheld', rule: 'ttp-conflict/two-outcomes' });
    expect(j.verdict.reasons[0]).toContain(exchangeId);
    // The same abort token signed by a stranger is no decision of the TTP's.
    const { generateKeyPair, signerFromKeyPair } = await import('../../../core/crypto/index.js');
    const stranger = await signerFromKeyPair('ES256', await generateKeyPair('ES256'));
    const fake = (await signStatement({ ...token }, stranger)) as Statement;
    const k = await shopperFiles(run, 'ttp-conflict', [...evidence, fake]);
    expect(k.verdict.decision).toBe('dismissed');
  });

  it('upheld: the TTP signed two affidavits for the merchant that disagree (one reveals the key, one says unsealable)', async () => {
    const run = await paidRun({ withhold: true, askTtp: true });
    const evidence = fairEvidence(run);
    const affidavit = evidence.find((s) => s.type === TTP_TYPES.affidavit)!;
    const { revealed: _r, ...rest } = affidavit.body as Record<string, unknown>;
    void _r;
    const other = (await signStatement({ ...affidavit, body: { ...rest, unsealable: 'the box does not open' } }, w.ttp.signer, {
      signerRef: w.ttp.signerRef!,
    })) as Statement;
    const j = await shopperFiles(run, 'ttp-conflict', [...evidence, other]);
    expect(j.verdict).toMatchObject({ decision: 'upheld', rule: 'ttp-conflict/two-affidavits' });
    // The same two decisions signed by a stranger's key: not the TTP's, no conflict of the TTP.
    const s = await stranger();
    const strangers = [(await signStatement({ ...affidavit }, s)) as Statement, (await signStatement({ ...other }, s)) as Statement];
    const k = await shopperFiles(run, 'ttp-conflict', [...evidence, ...strangers]);
    expect(k.verdict).toMatchObject({ decision: 'dismissed', rule: 'ttp-conflict/consistent' });
  });

  it('undecided: a single decision of the TTP', async () => {
    const run = await paidRun({ withhold: true });
    const j = await shopperFiles(run, 'ttp-conflict');
    expect(j.verdict).toMatchObject({ decision: 'undecided', rule: 'ttp-conflict/one-decision' });
  });
});
