/**
 * What the arbiter refuses before judging, with the reason: tampered statements and attachments,
 * malformed (truncated) evidence and complaints, foreign evidence (another deal, or not the evidence
 * the complaint committed to), and complaints by someone who is not a party of the deal. Plus the
 * bundle adapter and the statements' own checks.
 */
import { buildBundle } from '../../../core/evidence/bundle.js';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { generateKeyPair, signerFromKeyPair } from '../../../core/crypto/index.js';
import { encodeBase64, utf8 } from '../../../core/encoding/index.js';
import { signStatement, type Statement } from '../../../core/statements/index.js';
import {
  evidenceFromBundle,
  judge,
  makeEvidence,
  signComplaint,
  signVerdict,
  verifyVerdict,
  type ArbiterEvidence,
  type VerdictBody,
} from '../../../core/arbiter/index.js';
import { closeCheckingInvariants } from '../payment/helpers.js';
import { arbiterTrust, type ArbiterWorld, file, fundedShopper, makeArbiterWorld, type PurchaseTranscript, runPurchase } from './fixtures.js';

let w: ArbiterWorld;
let t: PurchaseTranscript;
let shopper: Awaited<ReturnType<typeof fundedShopper>>;
beforeEach(async () => {
  w = await makeArbiterWorld();
  shopper = await fundedShopper(w);
  t = await runPurchase(w, shopper.signer);
});
afterEach(() => closeCheckingInvariants(w.bank));

const trust = () => arbiterTrust(w);

async function fileRaw(evidence: ArbiterEvidence, committed = evidence.digest, dealId = t.dealId, signer = shopper.signer) {
  const complaint = await signComplaint({ claim: 'goods-mismatch', dealId, evidence: committed }, signer, w.clock.now);
  return judge(complaint, evidence, trust());
}

describe('refusals', () => {
  it('the honest evidence is judged (the baseline every refusal below departs from)', async () => {
    const j = await fileRaw(await makeEvidence({ dealId: t.dealId, statements: [t.offer, t.order, t.reply!.delivery] }));
    expect(j.verdict.decision).toBe('dismissed');
  });

  it('tampered: a statement whose body was changed after signing', async () => {
    const delivery = t.reply!.delivery as Statement;
    const tampered = { ...delivery, body: { ...delivery.body, orderId: 'X'.repeat(22) } };
    await expect(fileRaw(await makeEvidence({ dealId: t.dealId, statements: [t.offer, t.order, tampered] }))).rejects.toMatchObject({
      refusal: 'tampered',
      code: 'ERR_SIGNATURE_INVALID',
    });
  });

  it('tampered: an attachment whose bytes do not hash to its digest', async () => {
    const other = { digest: 'A'.repeat(43), mediaType: 'text/plain', data: encodeBase64(utf8('hello')) };
    await expect(fileRaw(await makeEvidence({ dealId: t.dealId, statements: [t.offer, t.order], attachments: [other] }))).rejects.toMatchObject({
      refusal: 'tampered',
    });
  });

  it('tampered: a complaint whose signature does not verify', async () => {
    const evidence = await makeEvidence({ dealId: t.dealId, statements: [t.offer, t.order] });
    const complaint = await signComplaint({ claim: 'goods-mismatch', dealId: t.dealId, evidence: evidence.digest }, shopper.signer, w.clock.now);
    await expect(judge({ ...complaint, body: { ...complaint.body, claim: 'offer-denied' } }, evidence, trust())).rejects.toMatchObject({ refusal: 'tampered' });
  });

  it('malformed: a statement cut short (no signature), evidence that is not the evidence shape', async () => {
    const { signature: _s, ...cut } = t.reply!.delivery as Statement;
    void _s;
    await expect(fileRaw(await makeEvidence({ dealId: t.dealId, statements: [t.offer, t.order, cut] }))).rejects.toMatchObject({
      refusal: 'malformed',
      code: 'ERR_SCHEMA',
    });
    await expect(makeEvidence({ dealId: t.dealId, statements: 'not a list' as unknown as unknown[] })).rejects.toMatchObject({ refusal: 'malformed' });
    await expect(evidenceFromBundle({ format: 'semper-evidence/1', deal: { id: t.dealId } })).rejects.toMatchObject({ refusal: 'malformed' });
  });

  it('foreign: a statement of another deal', async () => {
    const t2 = await runPurchase(w, shopper.signer);
    await expect(fileRaw(await makeEvidence({ dealId: t.dealId, statements: [t.offer, t.order, t2.reply!.delivery] }))).rejects.toMatchObject({
      refusal: 'foreign',
      code: 'ERR_EVIDENCE_FOREIGN',
    });
  });

  it('foreign: evidence other than the evidence the complaint committed to, or for another deal than the complaint', async () => {
    const honest = await makeEvidence({ dealId: t.dealId, statements: [t.offer, t.order, t.reply!.delivery] });
    const swapped = await makeEvidence({ dealId: t.dealId, statements: [t.offer, t.order] });
    await expect(fileRaw(swapped, honest.digest)).rejects.toMatchObject({ refusal: 'foreign' });
    const t2 = await runPurchase(w, shopper.signer);
    const otherDeal = await makeEvidence({ dealId: t2.dealId, statements: [t2.offer, t2.order] });
    await expect(fileRaw(otherDeal, otherDeal.digest, t.dealId)).rejects.toMatchObject({ refusal: 'foreign' });
    // Evidence labelled for another deal, though its statements are this deal's.
    const relabelled = await makeEvidence({ dealId: t2.dealId, statements: [t.offer, t.order] });
    await expect(fileRaw(relabelled, relabelled.digest, t.dealId)).rejects.toMatchObject({
      refusal: 'foreign',
      message: expect.stringMatching(/evidence is for deal/),
    });
  });

  it('not a party: a complaint signed by a key the evidence does not show in the deal', async () => {
    const stranger = await signerFromKeyPair('ES256', await generateKeyPair('ES256'));
    await expect(
      fileRaw(await makeEvidence({ dealId: t.dealId, statements: [t.offer, t.order, t.reply!.delivery] }), undefined, t.dealId, stranger),
    ).rejects.toMatchObject({ refusal: 'not-a-party', code: 'ERR_FORBIDDEN' });
  });

  it('a nested statement that does not verify is left out, not a reason to refuse', async () => {
    const stranger = await signerFromKeyPair('ES256', await generateKeyPair('ES256'));
    const inner = (await signStatement({ ...(t.reply!.delivery as Statement) }, stranger)) as Statement;
    const broken = { ...inner, body: { ...inner.body, orderId: 'Y'.repeat(22) } };
    const carrier = (await signStatement({ ...t.order, type: 'semper.note', body: { carried: broken } }, shopper.signer)) as Statement;
    const j = await fileRaw(await makeEvidence({ dealId: t.dealId, statements: [t.offer, t.order, t.reply!.delivery, carrier] }));
    expect(j.verdict.decision).toBe('dismissed');
  });
});

describe('the bundle adapter', () => {
  it('reads statements and attachments; the complaint commits to the digest of the whole bundle', async () => {
    const bundle = await buildBundle({
      deal: { id: t.dealId, kind: 'purchase', exporter: 'shopper' },
      statements: [{ statement: t.offer, role: 'offer' }, t.order, t.reply!.delivery],
      now: w.clock.now,
    });
    const evidence = await evidenceFromBundle(bundle, { roots: [w.ca.root], now: w.clock.now });
    expect(evidence.statements).toHaveLength(3);
    const j = await fileRaw(evidence);
    expect(j.verdict.decision).toBe('dismissed');
    // The same statements as bare evidence have another digest: a complaint is bound to what was filed.
    expect((await makeEvidence({ dealId: t.dealId, statements: evidence.statements })).digest).not.toBe(evidence.digest);
    // The bundle is checked as a whole: artefacts that differ from what the statement implies are tampering,
    // and anything that is not a semper.evidence/1 bundle is malformed.
    const changed = structuredClone(bundle);
    changed.statements[1]!.openssl.input = changed.statements[0]!.openssl.input;
    await expect(evidenceFromBundle(changed, { roots: [w.ca.root], now: w.clock.now })).rejects.toMatchObject({ refusal: 'tampered' });
    await expect(evidenceFromBundle({ ...bundle, format: 'semper-evidence/0' })).rejects.toMatchObject({ refusal: 'malformed' });
  });
});

describe('verdict statements', () => {
  let verdict: VerdictBody;
  beforeAll(() => {
    verdict = { complaint: 'C'.repeat(43), claim: 'goods-mismatch', decision: 'dismissed', rule: 'goods-mismatch/matches', reasons: ['because'] };
  });

  it('a verdict signed by a certificate of another role is not a verdict', async () => {
    const signed = await signVerdict(verdict, t.dealId, w.shopSigner, w.shop.identity.chain, w.clock.now);
    await expect(verifyVerdict(signed, { roots: [w.ca.root], now: w.clock.now })).rejects.toMatchObject({ code: 'ERR_CERT_UNTRUSTED' });
    const good = await signVerdict(verdict, t.dealId, w.arbiter.signer, w.arbiter.chain, w.clock.now);
    expect((await verifyVerdict(good, { roots: [w.ca.root], now: w.clock.now })).arbiter).toBe('Semper Arbiter');
  });

  it('a verdict body without reasons is refused when signing', async () => {
    await expect(signVerdict({ ...verdict, reasons: [] }, t.dealId, w.arbiter.signer, w.arbiter.chain, w.clock.now)).rejects.toMatchObject({
      code: 'ERR_SCHEMA',
    });
  });
});

void file;
