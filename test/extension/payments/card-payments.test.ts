/**
 * The worker's card payments (extension/payments/card-payments.ts) against the real card adapter and
 * acquirer over HTTP on loopback: the saved card pins the operator key; a payment is recorded before
 * it leaves and re-sent as is after a lost answer (one charge); the same deal again gets the stored
 * proof; an offer naming another adapter key pays nothing; a decline is typed and moves nothing.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { generateKeyPair, type Signer, signerFromKeyPair } from '../../../core/crypto/index.js';
import type { PaymentRequest } from '../../../core/commerce/fair-purchase-shopper.js';
import { cryptoRandom } from '../../../core/machine.js';
import { AcquirerClient } from '../../../server/acquirer/client.js';
import { startAcquirerServer } from '../../../server/acquirer/server.js';
import { AcquirerService } from '../../../server/acquirer/service.js';
import type { RunningServer } from '../../../server/http/listen.js';
import { CardAdapterService } from '../../../server/payment-adapter/service.js';
import { startCardAdapterServer } from '../../../server/payment-adapter/server.js';
import { CardPayments, type CardWallet } from '../../../extension/payments/card-payments.js';
import { getJson, MAX_RESPONSE_BYTES, postJson } from '../../../extension/worker/http.js';

const signer = async (): Promise<Signer> => signerFromKeyPair('ES256', await generateKeyPair('ES256'));

let acquirer: AcquirerService;
let acquirerServer: RunningServer;
let adapter: CardAdapterService;
let adapterServer: RunningServer;
let operator: Signer;
let payee: Signer;
let merchantId: string;
let stored: CardWallet | undefined;
let posts: number;
let loseAnswers: number;

function cards(): CardPayments {
  return new CardPayments({
    records: {
      get: async () => (stored ? structuredClone(stored) : undefined),
      put: async (w) => {
        stored = structuredClone(w);
      },
    },
    getJson: (url) => getJson(url),
    post: async (base, path, body) => {
      posts++;
      const reply = await postJson(base, path, body, { maxResponseBytes: MAX_RESPONSE_BYTES });
      // The adapter answered but the answer was lost on the way (the worker was stopped, the network failed).
      if (loseAnswers > 0) {
        loseAnswers--;
        return { kind: 'error', error: { code: 'ERR_INTERNAL', message: 'unreachable' } };
      }
      return reply;
    },
    random: cryptoRandom,
    now: Date.now,
  });
}

beforeEach(async () => {
  stored = undefined;
  posts = 0;
  loseAnswers = 0;
  acquirer = new AcquirerService();
  acquirerServer = await startAcquirerServer(acquirer);
  operator = await signer();
  payee = await signer();
  const creds = acquirer.createMerchant('shop');
  merchantId = creds.merchantId;
  adapter = new CardAdapterService({ operator, acquirerName: 'test', merchants: new Map([[payee.keyId, new AcquirerClient(acquirerServer.url, creds)]]) });
  adapterServer = await startCardAdapterServer(adapter);
});
afterEach(async () => {
  await adapterServer.close();
  await acquirerServer.close();
  adapter.close();
  acquirer.close();
});

const request = (reference: string, keyId = operator.keyId): PaymentRequest => ({
  method: 'card',
  amount: { amount: 450, currency: 'EUR' },
  payee: payee.keyId,
  reference,
  bank: { keyId: operator.keyId, url: 'http://127.0.0.1:1' },
  card: { keyId, url: adapterServer.url },
});

describe('card payments in the worker', () => {
  it('pins the operator key, pays once per deal even when the answer is lost, and hands the proof on as the money item', async () => {
    const c = cards();
    const saved = await c.add({ adapterUrl: adapterServer.url, token: 'tok_visa' });
    expect(saved).toMatchObject({ keyId: operator.keyId, token: '…visa' });
    expect(await c.funds(request('deal-card-000001').card)).toEqual({ method: 'card', available: true });
    loseAnswers = 1;
    const first = await c.pay(request('deal-card-000001'));
    // No answer: pending (no status), the request is recorded.
    expect(first).toMatchObject({ kind: 'error', error: { code: 'ERR_PROTOCOL_STATE' } });
    expect(first.kind === 'error' && first.status).toBeUndefined();
    const requestId = stored!.payments['deal-card-000001']!.request.requestId;
    // A restarted worker (a new service over the same record) asks again: the same request, one charge.
    const again = await cards().pay(request('deal-card-000001'));
    expect(again.kind).toBe('response');
    expect(again.kind === 'response' && (again.body as { method: string; proof: { body: { reference: string } } })).toMatchObject({
      method: 'card',
      proof: { body: { reference: 'deal-card-000001' } },
    });
    expect(stored!.payments['deal-card-000001']!.request.requestId).toBe(requestId);
    expect(acquirer.intentCount(merchantId)).toBe(1);
    // Asked once more after it settled: the stored proof, nothing sent.
    const before = posts;
    expect((await cards().pay(request('deal-card-000001'))).kind).toBe('response');
    expect(posts).toBe(before);
  });

  it('an offer naming another adapter key pays nothing (not available, refused before any request)', async () => {
    const c = cards();
    await c.add({ adapterUrl: adapterServer.url, token: 'tok_visa' });
    const other = (await signer()).keyId;
    expect(await c.funds(request('deal-card-000002', other).card)).toEqual({ method: 'card', available: false, reason: 'no-card' });
    expect(await c.pay(request('deal-card-000002', other))).toMatchObject({ kind: 'error', error: { code: 'ERR_PAYMENT_METHOD' }, status: 409 });
    expect(posts).toBe(0);
  });

  it('a declined card: ERR_PAYMENT_DECLINED with the decline code recorded, nothing captured', async () => {
    const c = cards();
    await c.add({ adapterUrl: adapterServer.url, token: 'tok_insufficient' });
    const reply = await c.pay(request('deal-card-000003'));
    expect(reply).toMatchObject({ kind: 'error', error: { code: 'ERR_PAYMENT_DECLINED' }, status: 402 });
    expect(stored!.payments['deal-card-000003']!.refused).toMatchObject({ code: 'ERR_PAYMENT_DECLINED', declineCode: 'insufficient_funds' });
    expect(acquirer.db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM captures').get()!.n).toBe(0);
  });

  it('a card number is no token; an adapter whose key id is not its key is refused', async () => {
    await expect(cards().add({ adapterUrl: adapterServer.url, token: '4242424242424242' })).rejects.toMatchObject({ code: 'ERR_SCHEMA' });
    const lying = new CardPayments({
      records: { get: async () => undefined, put: async () => undefined },
      getJson: async () => ({ keyId: (await signer()).keyId, publicJwk: operator.publicJwk, acquirer: 'x' }),
      post: async () => ({ kind: 'error', error: { code: 'ERR_INTERNAL', message: 'unused' } }),
      random: cryptoRandom,
      now: Date.now,
    });
    await expect(lying.add({ adapterUrl: adapterServer.url, token: 'tok_visa' })).rejects.toMatchObject({ code: 'ERR_SIGNATURE_INVALID' });
  });
});
