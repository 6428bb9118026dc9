/**
 * The merchant kit's exchange deals (server/merchant/kit.ts) with a Node shopper running
 * the originator machine, a real TTP app and SQLite: the two commerce uses complete with no TTP
 * request; a merchant that stops after the shopper's signature is overcome by the TTP; a shopper
 * that withholds its receipt is overcome by the merchant's own timers; descriptors are
 * idempotent for a restarted worker and refuse replays.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TTP_TYPES, AffidavitBody } from '../../core/exchange/index.js';
import { ContractBody, EXCHANGE_DEAL_TYPES, informationText } from '../../core/commerce/exchange-deal.js';
import { verifyStatement, type Statement } from '../../core/statements/index.js';
import { receiptDescription } from '../../core/transfer/index.js';
import { EXCHANGE_CONTRACTS, EXCHANGE_DOCUMENTS } from '../../server/shop/exchange-uses.js';
import { DEFAULT_ATTRIBUTES } from '../../core/transfer/index.js';
import { nowIso, signStatement } from '../../core/statements/index.js';
import { cryptoRandom } from '../../core/machine.js';
import { exchangeMerchant, stepExchangeMerchant, type ExchangeMerchantState } from '../../core/commerce/exchange-merchant.js';
import { shopExchangeCatalog } from '../../server/shop/exchange-uses.js';
import {
  EX_ORIGIN,
  FAST_TIMING,
  makeExchangeWorld,
  merchantExchange,
  runMerchantToEnd,
  newShopper,
  NodeShopper,
  postExchangeMessage,
  requestDescriptor,
  type ExchangeWorld,
} from '../helpers/exchange.js';

let world: ExchangeWorld;

beforeAll(async () => {
  world = await makeExchangeWorld();
});
afterAll(async () => {
  await world?.close();
});

const CONTRACT = EXCHANGE_CONTRACTS[0]!;
const DOCUMENT = EXCHANGE_DOCUMENTS[0]!;

async function ttpRecord(exchangeId: string): Promise<number> {
  return (await world.ttpApp.request(`/ttp/exchanges/${exchangeId}`)).status;
}

describe('exchange deals in the kit: the honest runs need no TTP', () => {
  it('contract signing: both signatures swapped, zero TTP requests', async () => {
    const before = world.ttpRequests.length;
    const s = new NodeShopper(world, await newShopper());
    await s.start('contract-signing', CONTRACT.id);
    expect(s.view.contract?.text).toBe(CONTRACT.text);
    expect(s.state.outcome?.status).toBe('completed');
    const merchant = await merchantExchange(world, s.agreement.dealId);
    expect(merchant.state.outcome?.status).toBe('completed');
    expect(world.ttpRequests.length).toBe(before);
    expect(await ttpRecord(s.state.exchangeId!)).toBe(404);
    // Each side holds the other's signature on the one text.
    const got = s.state.outcome?.status === 'completed' ? s.state.outcome.received : undefined;
    expect(got?.kind).toBe('statement');
    const sig = await verifyStatement((got as { statement: Statement }).statement, {
      types: [EXCHANGE_DEAL_TYPES.contractSignature],
      trust: { roots: [world.ca.root], now: new Date(world.clock.now) },
    });
    expect(ContractBody.parse(sig.statement.body).text).toBe(CONTRACT.text);
  });

  it('certified mail: the shopper gets the document, the merchant the signed receipt', async () => {
    const s = new NodeShopper(world, await newShopper());
    await s.start('certified-mail', DOCUMENT.id);
    expect(s.state.outcome?.status).toBe('completed');
    const doc = s.state.outcome?.status === 'completed' ? informationText(s.state.outcome.received) : undefined;
    expect(doc?.text).toBe(DOCUMENT.content);
    const merchant = await merchantExchange(world, s.agreement.dealId);
    expect(merchant.state.outcome?.status).toBe('completed');
    const receipt = merchant.state.received as { kind: 'statement'; statement: Statement };
    const v = await verifyStatement(receipt.statement, { types: [EXCHANGE_DEAL_TYPES.receipt] });
    expect(v.signerJwk).toEqual(s.signer.publicJwk);
    const expected = receiptDescription({
      receiver: s.signer.keyId,
      sender: world.merchant.signer.keyId,
      dealId: s.agreement.dealId,
      received: s.items.merchantGives,
    });
    expect(v.statement.body).toEqual((expected as { content: { body: unknown } }).content.body);
    expect(await ttpRecord(s.state.exchangeId!)).toBe(404);
  });
});

describe('exchange deals in the kit: the merchant signs only over what it agreed (issue 8, item 2)', () => {
  it('a proposal with extra terms, other attributes, a TTP endpoint or other signer refs is refused: no m2, the deal still waits', async () => {
    for (const use of ['contract-signing', 'certified-mail'] as const) {
      const s = new NodeShopper(world, await newShopper());
      const started = await s.propose(use, use === 'contract-signing' ? CONTRACT.id : DOCUMENT.id);
      const m1 = started.send[0]!.statement;
      const b = m1.body as Record<string, unknown>;
      const forged = async (patch: Record<string, unknown>) =>
        (await signStatement(
          { type: m1.type, version: 1, dealId: m1.dealId, issuedAt: nowIso(world.clock.now), body: { ...b, ...patch } },
          s.signer,
        )) as Statement;
      const cases: [string, Statement][] = [
        ['extra terms', await forged({ terms: 'R additionally owes O 1,000,000 EUR.' })],
        ['other originator attributes', await forged({ originatorAttributes: { ...DEFAULT_ATTRIBUTES, confidentiality: 'none' } })],
        ['another TTP endpoint', await forged({ ttp: { keyId: world.ttp.keyId, endpoint: 'https://ttp.evil.example/' } })],
        ['a signer ref for the shopper', await forged({ originator: { keyId: s.signer.keyId, signer: { kind: 'x509', chain: world.merchant.chain } } })],
        [
          'a signer ref for the merchant',
          await forged({ responder: { keyId: world.merchant.signer.keyId, signer: { kind: 'x509', chain: world.ttp.certificateChain } } }),
        ],
        ['a later deadline than the descriptor allows', await forged({ deadline: (b.deadline as number) + 86_400_000 })],
      ];
      for (const [what, message] of cases) {
        const r = await postExchangeMessage(world, message);
        expect(r.status, `${use}: ${what}`).toBeGreaterThanOrEqual(400);
        expect(r.replies, `${use}: ${what}`).toEqual([]);
        // Nothing was accepted: the deal is still only offered (no responder, no m2).
        expect(((await (await world.host.app.request(`/semper/deals/${m1.dealId}`)).json()) as { phase: string }).phase, `${use}: ${what}`).toBe('offered');
      }
      // The genuine proposal still goes through.
      const ok = await postExchangeMessage(world, m1);
      expect(ok.replies.map((x) => x.type)).toEqual(['semper.exchange.accept']);
    }
  });
});

describe('exchange deals in the kit: the shopper key is bound at m1 (issue 8, item 6)', () => {
  it('m1 binds the key that signed it: items derived for another key, or naming another originator, are refused', async () => {
    const s = new NodeShopper(world, await newShopper());
    const other = await newShopper();
    const started = await s.propose('certified-mail', DOCUMENT.id);
    const m1 = started.send[0]!.statement;
    const b = m1.body as Record<string, unknown>;
    const sign = async (body: Record<string, unknown>, signer = s.signer) =>
      (await signStatement({ type: m1.type, version: 1, dealId: m1.dealId, issuedAt: nowIso(world.clock.now), body }, signer)) as Statement;
    // The receipt it offers names another receiver (the items were derived for another key).
    const forOther = receiptDescription({ receiver: other.keyId, sender: world.merchant.signer.keyId, dealId: m1.dealId, received: s.items.merchantGives });
    const cases: [string, Statement][] = [
      ['items derived for another key', await sign({ ...b, originatorGives: forOther })],
      ['naming another originator', await sign({ ...b, originator: { keyId: other.keyId } })],
      ['signed by another key than it names', await sign(b, other)],
    ];
    for (const [what, message] of cases) {
      const r = await postExchangeMessage(world, message);
      expect(r.status, what).toBeGreaterThanOrEqual(400);
      expect(r.replies, what).toEqual([]);
    }
    expect(((await (await world.host.app.request(`/semper/deals/${m1.dealId}`)).json()) as { phase: string }).phase).toBe('offered');
    const ok = await postExchangeMessage(world, m1);
    expect(ok.replies.map((x) => x.type)).toEqual(['semper.exchange.accept']);
    // The merchant's stored deal now names exactly the key that signed m1.
    const stored = JSON.stringify(await (await world.host.app.request(`/semper/deals/${m1.dealId}`)).json());
    expect(stored).toContain(s.signer.keyId);
    expect(stored).not.toContain(other.keyId);
  });

  it('an offered deal whose descriptor ran out takes no m1 and ends expired (nothing given)', async () => {
    const s = new NodeShopper(world, await newShopper());
    const started = await s.propose('contract-signing', CONTRACT.id);
    const dealId = started.send[0]!.statement.dealId;
    const stored = async () => (await (await world.host.app.request(`/semper/deals/${dealId}`)).json()) as { phase: string; wakeAt: number | null };
    const { wakeAt } = await stored();
    expect(wakeAt).not.toBeNull();
    const saved = world.clock.now;
    try {
      world.clock.now = wakeAt! + 1;
      const late = await postExchangeMessage(world, started.send[0]!.statement);
      expect(late.error?.code).toBe('ERR_OFFER_EXPIRED');
      await world.host.tick();
      expect((await stored()).phase).toBe('expired');
      expect((await postExchangeMessage(world, started.send[0]!.statement)).error?.code).toBe('ERR_OFFER_EXPIRED');
    } finally {
      world.clock.now = saved;
    }
  });
});

describe('exchange deals in the kit: the merchant machine on its own', () => {
  it("a merchant with terms: the shopper's m1 carries exactly the descriptor's terms, and the exchange completes", async () => {
    const terms = 'Disputes are settled in Munich; German law applies.';
    const w = await makeExchangeWorld({ terms });
    try {
      const s = new NodeShopper(w, await newShopper());
      await s.start('contract-signing', CONTRACT.id);
      expect(s.view.terms).toBe(terms);
      expect((s.state.m1!.body as { terms?: string }).terms).toBe(terms);
      expect(s.state.outcome?.status).toBe('completed');
    } finally {
      await w.close();
    }
  });

  it('a descriptor request for another deal, a repeat after the descriptor expired, an m1 after the merchant changed its key: refused', async () => {
    const ctx = {
      identity: { signer: world.merchant.signer, chain: world.merchant.chain, origin: EX_ORIGIN },
      ttp: { keyId: world.ttp.keyId, certificateChain: world.ttp.certificateChain, url: 'http://127.0.0.1:8452' },
      catalog: shopExchangeCatalog(),
      descriptorTtlMs: 60_000,
      timing: FAST_TIMING,
      trustRoots: [world.ca.root],
      random: cryptoRandom,
    };
    const now = world.clock.now;
    const request = { dealId: 'deal-machine-00000001', nonce: 'N'.repeat(43), use: 'contract-signing', documentId: CONTRACT.id };
    await expect(
      stepExchangeMerchant({ phase: 'new', dealId: 'deal-machine-00000002' }, { type: 'descriptor-requested', request, now }, ctx),
    ).rejects.toMatchObject({ code: 'ERR_PROTOCOL_STATE' });
    const offered = await stepExchangeMerchant({ phase: 'new', dealId: request.dealId }, { type: 'descriptor-requested', request, now }, ctx);
    const again = await stepExchangeMerchant(offered.state, { type: 'descriptor-requested', request, now: now + 1_000 }, ctx);
    expect(again.send).toEqual(offered.send);
    await expect(stepExchangeMerchant(offered.state, { type: 'descriptor-requested', request, now: now + 60_000 }, ctx)).rejects.toMatchObject({
      code: 'ERR_REPLAY',
    });
    // The merchant's key changed since it signed the descriptor: an m1 for it is refused (nothing is signed with the new key over it).
    const other = await world.ca.issue({ commonName: 'Fogra Forschungsgesellschaft Druck e.V.', role: 'merchant', origins: [EX_ORIGIN] });
    const s = new NodeShopper(world, await newShopper());
    const started = await s.propose('contract-signing', CONTRACT.id);
    const stored = (await (await world.host.app.request(`/semper/deals/${started.send[0]!.statement.dealId}`)).json()) as { state: ExchangeMerchantState };
    const rotated = { ...ctx, identity: { ...ctx.identity, signer: other.signer, chain: other.chain } };
    await expect(
      stepExchangeMerchant(stored.state, { type: 'message', message: started.send[0]!.statement, now: world.clock.now, from: 'peer' }, rotated),
    ).rejects.toMatchObject({ code: 'ERR_KEY' });
  });

  it('a message the responder refuses under way is a refusal of the request (no replies)', async () => {
    const s = new NodeShopper(world, await newShopper());
    const started = await s.propose('contract-signing', CONTRACT.id);
    const ok = await postExchangeMessage(world, started.send[0]!.statement);
    expect(ok.replies).toHaveLength(1);
    const body = { exchangeId: 'Z'.repeat(43), role: 'originator', item: { kind: 'information', mediaType: 'text/plain', data: 'AA' } };
    const bogus = await signStatement(
      { type: 'semper.exchange.deliver', version: 1, dealId: started.send[0]!.statement.dealId, issuedAt: nowIso(world.clock.now), body },
      s.signer,
    );
    const refused = await postExchangeMessage(world, bogus);
    expect(refused.status).toBeGreaterThanOrEqual(400);
    expect(refused.error?.code).toBe('ERR_REPLAY');
  });
});

describe('exchange deals in the kit: faults are overcome by the TTP', () => {
  it('the merchant stops after the shopper signed: the TTP resolves, the shopper holds an affidavit for the contract', async () => {
    world.faults.stopAfter = 'receiving-originator-item';
    try {
      const s = new NodeShopper(world, await newShopper());
      await s.start('contract-signing', CONTRACT.id);
      expect(s.state.phase).toBe('awaiting-m4');
      expect((await merchantExchange(world, s.agreement.dealId)).stopped).toBe(true);
      await s.runTimers();
      const outcome = s.state.outcome!;
      expect(outcome.status).toBe('resolved');
      if (outcome.status !== 'resolved') return;
      const aff = await verifyStatement(outcome.replacement, {
        types: [TTP_TYPES.affidavit],
        requireCertificate: true,
        trust: { roots: [world.ca.root], now: new Date(world.clock.now) },
      });
      expect(aff.chain?.leaf.der).toBe(world.ttpCertificate);
      const body = AffidavitBody.parse(aff.statement.body);
      expect(body.onBehalfOf).toBe(world.merchant.signer.keyId);
      expect((body.description as { content: { body: unknown } }).content.body).toMatchObject({ text: CONTRACT.text });
      expect(await ttpRecord(s.state.exchangeId!)).toBe(200);
      // A stopped merchant answers nothing.
      const again = await world.host.app.request('/semper/exchange/messages', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ message: s.state.delivered }),
      });
      expect(again.status).toBe(503);
    } finally {
      delete world.faults.stopAfter;
    }
  });

  it('the TTP is down for 35 s after the shopper signed: it keeps asking (never failed), and ends resolved when the TTP is back (issue 8, item 3)', async () => {
    world.faults.stopAfter = 'receiving-originator-item';
    try {
      const s = new NodeShopper(world, await newShopper());
      await s.start('contract-signing', CONTRACT.id);
      expect(s.state.delivered).not.toBeNull(); // its signature (m3) left
      s.ttpDown = true;
      const outageEnds = world.clock.now + 35_000;
      let requests = 0;
      while (world.clock.now < outageEnds) {
        expect(s.state.wakeAt).not.toBeNull();
        world.clock.now = Math.max(world.clock.now, s.state.wakeAt!);
        await s.event({ type: 'timeout', now: world.clock.now });
        if (s.state.phase === 'awaiting-ttp') requests++;
        expect(s.state.outcome, `at +${outageEnds - world.clock.now} ms before the TTP is back`).toBeNull();
      }
      expect(s.state.phase).toBe('awaiting-ttp');
      expect(requests).toBeGreaterThan(2);
      s.ttpDown = false;
      await s.runTimers();
      expect(s.state.outcome?.status).toBe('resolved');
    } finally {
      delete world.faults.stopAfter;
    }
  });

  it('the merchant never answers m1: the shopper aborts at the TTP, nobody is bound', async () => {
    world.faults.stopAfter = 'receiving-proposal';
    try {
      const s = new NodeShopper(world, await newShopper());
      await s.start('contract-signing', CONTRACT.id);
      await s.runTimers();
      expect(s.state.outcome?.status).toBe('aborted');
      expect(s.state.delivered).toBeNull(); // its signature never left
    } finally {
      delete world.faults.stopAfter;
    }
  });

  it("certified mail: a shopper that keeps its receipt is overcome by the merchant's timers (complaint → affidavit)", async () => {
    const s = new NodeShopper(world, await newShopper());
    s.deliverToPeer = true;
    // Let m1 through, lose m3: the shopper has the document, the merchant nothing yet.
    const original = world.host.app.request.bind(world.host.app);
    let lose = false;
    world.host.app.request = ((input: string, init?: RequestInit) => {
      if (lose) return Promise.resolve(new Response(JSON.stringify({ replies: [] }), { headers: { 'content-type': 'application/json' } }));
      const body = init?.body ? (JSON.parse(String(init.body)) as { message?: Statement }) : {};
      if (body.message?.type === 'semper.exchange.propose') lose = true;
      return original(input, init);
    }) as typeof world.host.app.request;
    try {
      await s.start('certified-mail', DOCUMENT.id);
    } finally {
      world.host.app.request = original;
    }
    expect(s.state.outcome?.status).toBe('completed');
    await runMerchantToEnd(world, s.agreement.dealId);
    const m = await merchantExchange(world, s.agreement.dealId);
    expect(m.state.outcome?.status).toBe('resolved');
    if (m.state.outcome?.status !== 'resolved') return;
    const aff = AffidavitBody.parse(m.state.outcome.replacement!.body);
    expect(aff.onBehalfOf).toBe(s.signer.keyId);
  });
});

describe('exchange deals in the kit: descriptors', () => {
  it('the identical request (restarted worker) gets the same descriptor; another nonce for the deal is a replay', async () => {
    const first = await requestDescriptor(world, 'contract-signing', CONTRACT.id);
    expect(first.status).toBe(200);
    const again = await requestDescriptor(world, 'contract-signing', CONTRACT.id, { dealId: first.dealId, nonce: first.nonce });
    expect(again.body.descriptor).toEqual(first.body.descriptor);
    const replay = await requestDescriptor(world, 'contract-signing', CONTRACT.id, { dealId: first.dealId, nonce: 'A'.repeat(43) });
    expect(replay.status).toBe(409);
    expect(replay.body.error?.code).toBe('ERR_REPLAY');
  });

  it('unknown documents are 404; a malformed request is 400', async () => {
    const missing = await requestDescriptor(world, 'certified-mail', 'no-such-document');
    expect(missing.status).toBe(404);
    const bad = await world.host.app.request('/semper/exchange/descriptor', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ use: 'certified-mail' }),
    });
    expect(bad.status).toBe(400);
  });

  it('a message for an unknown deal is 404, a message that does not verify is refused with its code', async () => {
    const d = await requestDescriptor(world, 'contract-signing', CONTRACT.id);
    const forged = { ...d.body.descriptor!, type: 'semper.exchange.propose' };
    const r = await world.host.app.request('/semper/exchange/messages', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ message: forged }),
    });
    expect(r.status).toBe(403);
    expect(((await r.json()) as { error: { code: string } }).error.code).toBe('ERR_SIGNATURE_INVALID');
    const unknown = await world.host.app.request('/semper/exchange/messages', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ message: { ...forged, dealId: 'x'.repeat(24) } }),
    });
    expect(unknown.status).toBe(404);
  });
});

describe('mutation table (docs/mutation-exchange.md): the merchant machine refuses what its checks are for', () => {
  const machineCtx = (over: Record<string, unknown> = {}) => ({
    identity: { signer: world.merchant.signer, chain: world.merchant.chain, origin: EX_ORIGIN },
    ttp: { keyId: world.ttp.keyId, certificateChain: world.ttp.certificateChain, url: 'http://127.0.0.1:8452' },
    catalog: shopExchangeCatalog(),
    descriptorTtlMs: 60_000,
    timing: FAST_TIMING,
    trustRoots: [world.ca.root],
    random: cryptoRandom,
    ...over,
  });
  const request = (over: Record<string, unknown> = {}) => ({
    dealId: 'deal-mutation-00000001',
    nonce: 'N'.repeat(43),
    use: 'contract-signing',
    documentId: CONTRACT.id,
    ...over,
  });

  it('no descriptor is signed under a revoked merchant certificate: ERR_CERT_REVOKED, nothing offered', async () => {
    const ctx = machineCtx({ isRevoked: async () => true });
    await expect(
      stepExchangeMerchant({ phase: 'new', dealId: request().dealId }, { type: 'descriptor-requested', request: request(), now: world.clock.now }, ctx),
    ).rejects.toMatchObject({ code: 'ERR_CERT_REVOKED' });
  });

  it('the same descriptor again only for exactly the same request: another deal, use or document with the same nonce is a replay (ERR_REPLAY)', async () => {
    const ctx = machineCtx();
    const now = world.clock.now;
    const offered = await stepExchangeMerchant({ phase: 'new', dealId: request().dealId }, { type: 'descriptor-requested', request: request(), now }, ctx);
    const cases: [string, Record<string, unknown>][] = [
      ['another deal', request({ dealId: 'deal-mutation-00000002' })],
      ['another use', request({ use: 'certified-mail', documentId: CONTRACT.id })],
      ['another document', request({ documentId: 'another-contract' })],
    ];
    for (const [what, other] of cases) {
      await expect(stepExchangeMerchant(offered.state, { type: 'descriptor-requested', request: other, now: now + 1 }, ctx), what).rejects.toMatchObject({
        code: 'ERR_REPLAY',
      });
    }
  });

  it('once m1 was taken, even the identical descriptor request is a replay (ERR_REPLAY)', async () => {
    const s = new NodeShopper(world, await newShopper());
    const started = await s.propose('contract-signing', CONTRACT.id);
    const m1 = started.send[0]!.statement;
    expect((await postExchangeMessage(world, m1)).replies).toHaveLength(1);
    const stored = (await (await world.host.app.request(`/semper/deals/${m1.dealId}`)).json()) as { state: ExchangeMerchantState };
    expect(stored.state.phase).toBe('responding');
    const d = stored.state.phase === 'responding' ? stored.state.descriptor : undefined;
    const same = { dealId: m1.dealId, nonce: d!.body.nonce, use: d!.body.use, documentId: d!.body.documentId };
    await expect(stepExchangeMerchant(stored.state, { type: 'descriptor-requested', request: same, now: world.clock.now }, machineCtx())).rejects.toMatchObject(
      { code: 'ERR_REPLAY' },
    );
  });

  it('an offered deal takes only a proposal: a delivery or acceptance before m1 is ERR_PROTOCOL_STATE', async () => {
    const ctx = machineCtx();
    const offered = await stepExchangeMerchant(
      { phase: 'new', dealId: request().dealId },
      { type: 'descriptor-requested', request: request(), now: world.clock.now },
      ctx,
    );
    const shopper = await newShopper();
    for (const type of ['semper.exchange.accept', 'semper.exchange.deliver']) {
      const message = await signStatement(
        { type, version: 1, dealId: request().dealId, issuedAt: nowIso(world.clock.now), body: { exchangeId: 'E'.repeat(43) } },
        shopper,
      );
      await expect(stepExchangeMerchant(offered.state, { type: 'message', message, now: world.clock.now, from: 'peer' }, ctx), type).rejects.toMatchObject({
        code: 'ERR_PROTOCOL_STATE',
        message: expect.stringMatching(/takes a proposal/),
      });
    }
  });

  it('an m1 that arrives after the descriptor and its grace ran out, before any timer fired, is refused: ERR_OFFER_EXPIRED', async () => {
    const s = new NodeShopper(world, await newShopper());
    const started = await s.propose('contract-signing', CONTRACT.id);
    const honest = started.send[0]!.statement;
    const stored = (await (await world.host.app.request(`/semper/deals/${honest.dealId}`)).json()) as { state: ExchangeMerchantState };
    expect(stored.state.phase).toBe('offered');
    const due = exchangeMerchant.wakeAt(stored.state)!;
    // The shopper names the latest deadline the merchant allows, so m1 itself is still answerable after `due`.
    const expiresAt = stored.state.phase === 'offered' ? Date.parse(stored.state.descriptor.body.expiresAt) : 0;
    const deadline = expiresAt + 4 * FAST_TIMING.peerMs + 3 * FAST_TIMING.ttpMarginMs;
    const m1 = (await signStatement(
      { type: honest.type, version: 1, dealId: honest.dealId, issuedAt: nowIso(world.clock.now), body: { ...(honest.body as object), deadline } },
      s.signer,
    )) as Statement;
    await expect(stepExchangeMerchant(stored.state, { type: 'message', message: m1, now: due + 1, from: 'peer' }, machineCtx())).rejects.toMatchObject({
      code: 'ERR_OFFER_EXPIRED',
    });
    const inTime = await stepExchangeMerchant(stored.state, { type: 'message', message: m1, now: due - 1, from: 'peer' }, machineCtx());
    expect(inTime.state.phase).toBe('responding');
  });

  it('an offered deal does not expire on a timer before its descriptor (and the grace for m1) ran out', async () => {
    const ctx = machineCtx();
    const now = world.clock.now;
    const offered = await stepExchangeMerchant({ phase: 'new', dealId: request().dealId }, { type: 'descriptor-requested', request: request(), now }, ctx);
    const early = await stepExchangeMerchant(offered.state, { type: 'timeout', now: now + 60_000 }, ctx);
    expect(early.state.phase).toBe('offered');
    const due = exchangeMerchant.wakeAt(offered.state)!;
    expect(due).toBeGreaterThan(now + 60_000);
    expect((await stepExchangeMerchant(offered.state, { type: 'timeout', now: due }, ctx)).state.phase).toBe('expired');
  });
});
