/**
 * Attacks on the fair purchase (core/commerce/fair-purchase*.ts) by an active merchant or shopper
 * with valid keys, who signs whatever it likes: each must end with the honest side refusing
 * before it gives anything, or the TTP refusing, and the bank's invariants holding.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { generateKeyPair, signerFromKeyPair, type Signer } from '../../core/crypto/index.js';
import { encodeBase64url, utf8 } from '../../core/encoding/index.js';
import { describeInformation, type Description, type Item } from '../../core/items/index.js';
import { EXCHANGE_TYPES, TTP_TYPES } from '../../core/exchange/messages.js';
import { exchangeIdOf } from '../../core/exchange/index.js';
import { startOriginator, startResponder, stepExchange } from '../../core/exchange/parties.js';
import { seededRandom } from '../../core/machine.js';
import { signStatement, type Statement } from '../../core/statements/index.js';
import { closeCheckingInvariants } from '../core/payment/helpers.js';
import { FairRun, type FairWorld, makeFairWorld } from '../core/commerce/fair-fixtures.js';

let w: FairWorld;
beforeEach(async () => {
  w = await makeFairWorld();
});
afterEach(() => closeCheckingInvariants(w.bank));

async function bareSigner(): Promise<Signer> {
  return signerFromKeyPair('ES256', await generateKeyPair('ES256'));
}

/** A run up to the verified offer in the trusted window (nothing confirmed, nothing paid). */
async function offered(): Promise<FairRun> {
  const run = new FairRun(w);
  await run.start();
  await run.pump();
  expect(run.shopper.phase).toBe('awaiting-confirmation');
  return run;
}

describe('the TTP is no decryption oracle for boxes sealed to it', () => {
  it("a shopper who never pays stages an exchange of its own (two of its keys, the deal's id) around the merchant's box: the TTP does not open it", async () => {
    const run = await offered();
    if (run.shopper.phase !== 'awaiting-confirmation') throw new Error('not offered');
    const offer = run.shopper.offer.body;
    const dealId = run.shopper.dealId;
    const [x1, x2] = await Promise.all([bareSigner(), bareSigner()]);
    const ttpKeyId = w.merchant.ttp.keyId;
    const trust = { roots: [w.ca.root], ttps: [ttpKeyId] };
    const o = { signer: x1, trust, random: seededRandom(1) };
    const r = { signer: x2, trust, random: seededRandom(2) };
    // X1 "sells" a key statement of its own whose sealed field is the merchant's box; X2 gives a trifle.
    const content = { body: { dealId, sku: offer.sku, goods: offer.goods.digest, ciphertext: offer.goods.ciphertextDigest } };
    const stolen: Description = {
      kind: 'statement',
      type: 'semper.goods.key',
      signer: { keyId: x1.keyId },
      dealId,
      content,
      sealed: { field: 'key', digest: offer.goods.keyDigest, to: w.merchant.ttp.sealingKeyId, box: offer.goods.box },
    };
    const plain: Description = { kind: 'statement', type: 'semper.goods.key', signer: { keyId: x1.keyId }, dealId, content };
    const trifle: Item = { kind: 'information', mediaType: 'text/plain', data: encodeBase64url(utf8('a trifle')) };
    const trifleDesc = await describeInformation(trifle);
    const now = w.clock.now;
    const timeouts = { peer: 1_000, ttpRetry: 1_000, ttpMargin: 2_000, peerRetries: 1 };
    const own: Item = {
      kind: 'statement',
      statement: (await signStatement(
        { type: 'semper.goods.key', version: 1, dealId, issuedAt: new Date(now).toISOString(), body: content.body },
        x1,
      )) as Statement,
    };
    const started = await startOriginator(
      {
        protocol: 'generatable-verifiable',
        dealId,
        responder: { keyId: x2.keyId },
        ttp: { keyId: ttpKeyId },
        gives: plain,
        item: own,
        expects: trifleDesc,
        now,
        timeouts,
      },
      o,
    );
    const honestM1 = started.state.m1!;
    // m1 with the stolen box in the description, signed by X1 (its own key: a valid signature).
    const m1 = (await signStatement(
      { type: EXCHANGE_TYPES.propose, version: 1, dealId, issuedAt: honestM1.issuedAt, body: { ...(honestM1.body as object), originatorGives: stolen } },
      x1,
    )) as Statement;
    let responder = (
      await startResponder(
        {
          protocol: 'generatable-verifiable',
          dealId,
          originator: { keyId: x1.keyId },
          ttp: { keyId: ttpKeyId },
          gives: trifleDesc,
          item: trifle,
          expects: stolen,
          now,
          timeouts,
        },
        r,
      )
    ).state;
    const accepted = await stepExchange(responder, { type: 'message', message: m1, now, from: 'peer' }, r);
    responder = accepted.state;
    expect(responder.phase).toBe('awaiting-m3');
    // No m3: X2 complains to the TTP with m1 and m2.
    let complaint: Statement | undefined;
    for (let i = 0; i < 5 && !complaint; i++) {
      const t = await stepExchange(responder, { type: 'timeout', now: responder.wakeAt! }, r);
      responder = t.state;
      complaint = t.send.find((s) => s.to === 'ttp')?.statement;
    }
    expect(complaint?.type).toBe(EXCHANGE_TYPES.complaint);
    expect(await exchangeIdOf(m1)).toBe(responder.exchangeId);
    const answer = await run.ttpAnswer(complaint);
    // The TTP resolves X's own exchange (it cannot tell it is staged) but does not open the box: it
    // is bound to the merchant's key, and X1 is not the merchant.
    expect(answer.kind).toBe('response');
    const resolution = (answer as { body: { answer: Statement } }).body.answer;
    expect(resolution.type).toBe(TTP_TYPES.resolution);
    const affidavits = (resolution.body as { affidavits: Statement<{ revealed?: unknown; unsealable?: string }>[] }).affidavits;
    expect(affidavits).toHaveLength(1);
    expect(affidavits[0]!.body.revealed).toBeUndefined();
    expect(affidavits[0]!.body.unsealable).toMatch(/does not open/);
  });
});
