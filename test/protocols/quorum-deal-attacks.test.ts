/**
 * Attacks on k-of-n exchange deals (docs/quorum.md, "The shopper's choice"): a merchant whose signed descriptor
 * names a TTP set the shopper does not trust, a k of half or less, or one TTP twice (to count it twice) is refused
 * before anything is shown or signed — checked on the shopper's deal machine itself (no window, no send, no
 * signature); and a shopper whose m1 names a set the descriptor did not offer, a k below the merchant's, or one TTP
 * twice is refused by the merchant before it signs anything (no reply, the deal stays offered).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Signer } from '../../core/crypto/index.js';
import type { DescriptorBody, TrustedTtpEntry } from '../../core/commerce/exchange-deal.js';
import { startExchangeDeal, stepExchangeDeal, type ExchangeShopperContext } from '../../core/commerce/exchange-shopper.js';
import type { TtpPolicy } from '../../core/commerce/ttp-policy.js';
import { cryptoRandom } from '../../core/machine.js';
import { readCertificate } from '../../core/pki/index.js';
import { signStatement, type Statement } from '../../core/statements/index.js';
import { EXCHANGE_CONTRACTS } from '../../server/shop/exchange-uses.js';
import { EX_ORIGIN, makeExchangeWorld, newShopper, NodeShopper, requestDescriptor, type ExchangeWorld } from '../helpers/exchange.js';

const CONTRACT = EXCHANGE_CONTRACTS[0]!;

let world: ExchangeWorld;
let shopper: Signer;
/** Three TTPs certified by the same CA for the TTP role, but not ones the shopper trusts. */
let rogue: { keyId: string; certificateChain: string[]; endpoint: string }[];

beforeAll(async () => {
  world = await makeExchangeWorld({ quorum: { k: 2, n: 3 } });
  shopper = await newShopper();
  rogue = [];
  for (const name of ['Rogue TTP A', 'Rogue TTP B']) {
    const r = await world.ca.issue({ commonName: name, role: 'ttp' });
    rogue.push({ keyId: r.signer.keyId, certificateChain: r.chain, endpoint: 'http://127.0.0.1:9999' });
  }
});
afterAll(async () => {
  await world?.close();
});

const entries = (): TrustedTtpEntry[] => world.ttps.map((t) => t.entry);
const policy = (k: number): TtpPolicy => ({ ttps: world.ttps.map((t) => t.entry.fingerprint), k });

/** The merchant re-signs a descriptor it altered (it holds its key: these are its own lies). */
async function resign(d: Statement<DescriptorBody>, body: DescriptorBody): Promise<Statement<DescriptorBody>> {
  const { signature: _drop, ...unsigned } = d;
  void _drop;
  return signStatement<DescriptorBody>({ ...unsigned, body }, world.merchant.signer, { signerRef: { kind: 'x509', chain: world.merchant.chain } });
}

/**
 * The shopper's deal machine meets a descriptor altered by `alter`: what it does with it, and how many signatures
 * the shopper's key made meanwhile.
 */
async function meet(alter: (body: DescriptorBody) => DescriptorBody, ttpPolicy: TtpPolicy | null) {
  let signatures = 0;
  const signer: Signer = {
    alg: shopper.alg,
    publicJwk: shopper.publicJwk,
    keyId: shopper.keyId,
    sign: (data) => {
      signatures++;
      return shopper.sign(data);
    },
  };
  const ctx: ExchangeShopperContext = { random: cryptoRandom, signer, roots: [world.ca.root], ttps: entries(), ttpPolicy };
  const started = await startExchangeDeal({ origin: EX_ORIGIN, use: 'contract-signing', documentId: CONTRACT.id, now: world.clock.now }, ctx);
  const s = started.state;
  const d = await requestDescriptor(world, 'contract-signing', CONTRACT.id, { dealId: s.dealId, nonce: s.nonce });
  const forged = await resign(d.body.descriptor!, alter(structuredClone(d.body.descriptor!.body)));
  const step = await stepExchangeDeal(s, { type: 'descriptor-response', response: { descriptor: forged }, now: world.clock.now }, ctx);
  return { step, signatures, ctx, signed: () => signatures };
}

function offered(body: DescriptorBody) {
  return body.quorum!.ttps;
}

describe('a merchant descriptor naming a TTP set the shopper must not accept is refused before anything is signed', () => {
  it('control: the genuine descriptor with a 2-of-3 policy reaches the window (3 TTPs, k=2)', async () => {
    const { step } = await meet((b) => b, policy(2));
    expect(step.state.phase).toBe('awaiting-confirmation');
    expect(step.effects.find((e) => e.kind === 'show-offer')).toMatchObject({ view: { quorum: { k: 2 } } });
  });

  const cases: [string, (b: DescriptorBody) => DescriptorBody, RegExp][] = [
    [
      'a set of TTPs the shopper does not trust (only the first is one of its own)',
      (b) => ({ ...b, quorum: { k: 2, ttps: [offered(b)[0]!, ...rogue] } }),
      /^guarantee policy: 2 of the TTPs you chose must agree, but the merchant accepts only 1 of them/,
    ],
    ['a k of half the set or less', (b) => ({ ...b, quorum: { k: 1, ttps: offered(b) } }), /not more than half/],
    ['a k of half the set (2 of 4)', (b) => ({ ...b, quorum: { k: 2, ttps: [...offered(b), rogue[0]!] } }), /not more than half/],
    ['a k the set can never reach', (b) => ({ ...b, quorum: { k: 3, ttps: offered(b).slice(0, 2) } }), /can never be reached/],
    [
      'one TTP named twice (to count twice)',
      (b) => ({ ...b, quorum: { k: 2, ttps: [offered(b)[0]!, offered(b)[1]!, offered(b)[1]!] } }),
      /named? (a TTP )?twice|twice/,
    ],
    [
      "one TTP's certificate twice under another key id",
      (b) => ({ ...b, quorum: { k: 2, ttps: [offered(b)[0]!, offered(b)[1]!, { ...offered(b)[1]!, keyId: offered(b)[2]!.keyId }] } }),
      /key id is not the certified key|twice/,
    ],
    [
      'a set whose first is not the descriptor TTP',
      (b) => ({ ...b, quorum: { k: 2, ttps: [offered(b)[1]!, offered(b)[0]!, offered(b)[2]!] } }),
      /first of its set/,
    ],
    ['the one TTP alone when the shopper asks 2 of 3', (b) => ({ ...b, quorum: undefined }) as DescriptorBody, /^guarantee policy: 2 of the TTPs you chose/],
  ];

  for (const [name, alter, why] of cases) {
    it(name, async () => {
      const { step, signatures } = await meet((b) => {
        const next = alter(b);
        if (next.quorum === undefined) delete next.quorum;
        return next;
      }, policy(2));
      expect(step.state.phase).toBe('failed');
      if (step.state.phase !== 'failed') return;
      expect(step.state.error.code).toBe('ERR_TTP');
      expect(step.state.error.message).toMatch(why);
      expect(step.effects.some((e) => e.kind === 'show-offer')).toBe(false);
      expect(step.send).toEqual([]);
      expect(signatures).toBe(0);
    });
  }

  it('a TTP of the chosen set no longer trusted when the user confirms: refused, nothing signed', async () => {
    const { step, ctx, signed } = await meet((b) => b, policy(3));
    expect(step.state.phase).toBe('awaiting-confirmation');
    const later = { ...ctx, ttps: entries().slice(0, 2) };
    const confirmed = await stepExchangeDeal(step.state, { type: 'user-confirmed', now: world.clock.now }, later);
    expect(confirmed.state.phase).toBe('failed');
    expect(confirmed.send).toEqual([]);
    expect(signed()).toBe(0);
  });

  it('the quorum rules hold also for a shopper without a policy (it would use the one TTP): k of half or less, or one TTP twice', async () => {
    for (const alter of [
      (b: DescriptorBody) => ({ ...b, quorum: { k: 1, ttps: offered(b) } }),
      (b: DescriptorBody) => ({ ...b, quorum: { k: 2, ttps: [offered(b)[0]!, offered(b)[0]!, offered(b)[1]!] } }),
    ]) {
      const { step, signatures } = await meet(alter, null);
      expect(step.state.phase).toBe('failed');
      expect(signatures).toBe(0);
    }
  });
});

describe("a shopper's m1 naming a set the merchant did not offer is refused before the merchant signs", () => {
  /** The shopper signs an m1 whose TTP set it altered (its own key: these are its own lies), and posts it. */
  async function postAltered(
    alter: (q: { k: number; ttps: { keyId: string }[] }) => void,
    w: ExchangeWorld = world,
  ): Promise<{ code: string | undefined; phase: string; replies: string[] }> {
    const s = new NodeShopper(w, await newShopper(), { ttps: w.ttps.map((t) => t.entry), policy: { ttps: w.ttps.map((t) => t.entry.fingerprint), k: 2 } });
    const res = await s.propose('contract-signing', CONTRACT.id);
    const honest = res.send.find((o) => o.to === 'peer')!.statement as Statement<{ quorum: { k: number; ttps: { keyId: string }[] } }>;
    const { signature: _drop, ...unsigned } = honest;
    void _drop;
    const body = structuredClone(honest.body);
    alter(body.quorum);
    const m1 = await signStatement({ ...unsigned, body }, s.signer);
    const r = await w.host.app.request('/semper/exchange/messages', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ message: m1 }),
    });
    const answer = (await r.json()) as { replies?: Statement[]; error?: { code: string } };
    const deal = (await (await w.host.app.request(`/semper/deals/${m1.dealId}`)).json()) as { state: { phase: string } };
    return { code: answer.error?.code, phase: deal.state.phase, replies: (answer.replies ?? []).map((x) => x.type) };
  }
  /** Refused: no reply (nothing signed by the merchant), the deal still only offered. */
  const refusedM1 = async (alter: (q: { k: number; ttps: { keyId: string }[] }) => void, w: ExchangeWorld = world) => {
    const r = await postAltered(alter, w);
    expect(r.replies).toEqual([]);
    return { code: r.code, phase: r.phase };
  };

  it('control: the honest m1 is answered', async () => {
    const s = new NodeShopper(world, await newShopper(), { ttps: entries(), policy: policy(2) });
    await s.start('contract-signing', CONTRACT.id);
    expect(s.state.outcome?.status).toBe('completed');
  });

  it('a TTP the descriptor did not offer', async () => {
    const info = await readCertificate(rogue[0]!.certificateChain[0]!);
    expect(info.role).toBe('ttp');
    expect(
      await refusedM1((q) => {
        q.ttps[2] = { keyId: rogue[0]!.keyId };
      }),
    ).toEqual({ code: 'ERR_TTP', phase: 'offered' });
  });

  it('one TTP named twice', async () => {
    expect(
      await refusedM1((q) => {
        q.ttps[2] = q.ttps[1]!;
      }),
    ).toEqual({ code: 'ERR_TTP', phase: 'offered' });
  });

  it("a k below the merchant's (and of half or less)", async () => {
    expect(
      await refusedM1((q) => {
        q.k = 1;
      }),
    ).toEqual({ code: 'ERR_TTP', phase: 'offered' });
  });

  it("a valid set with a k below the merchant's (the merchant asks 3 of 3, m1 names 2 of 3)", async () => {
    const strict = await makeExchangeWorld({ quorum: { k: 3, n: 3 } });
    try {
      expect(
        await refusedM1((q) => {
          q.k = 2;
        }, strict),
      ).toEqual({ code: 'ERR_TTP', phase: 'offered' });
    } finally {
      await strict.close();
    }
  });

  it("a subset of the offered TTPs with the merchant's k is accepted (the merchant offers any 2 of its 3)", async () => {
    const r = await postAltered((q) => {
      q.ttps.pop();
    });
    expect(r).toEqual({ code: undefined, phase: 'responding', replies: ['semper.exchange.accept'] });
  });
});
