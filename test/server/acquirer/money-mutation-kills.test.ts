/**
 * Attacks on the card adapter's and the acquirer's checks that no other test made
 * (test/mutation/money.ts: each of these fails when its check is removed).
 */
import { describe, expect, it } from 'vitest';
import { generateKeyPair, type Signer, signerFromKeyPair } from '../../../core/crypto/index.js';
import { randomId } from '../../../core/encoding/index.js';
import { cardRefund } from '../../../core/payment/card/index.js';
import { deviceKeySigner } from '../../../core/payment/signing.js';
import type { AcquirerClient } from '../../../server/acquirer/client.js';
import { CardAdapterService } from '../../../server/payment-adapter/service.js';
import { refusalCode } from '../../core/payment/helpers.js';

const signer = async (): Promise<Signer> => signerFromKeyPair('ES256', await generateKeyPair('ES256'));
const chf = (amount: number) => ({ amount, currency: 'CHF' });
const NOW = Date.UTC(2026, 10, 1);

const code = refusalCode;

/**
 * An acquirer on the wire that the test controls: intents succeed as asked, and its refund answer
 * is whatever `refundEcho` makes of the honest one (an answer changed in transit, or the acquirer's mistake).
 */
function acquirerOnTheWire(refundEcho: (honest: Record<string, unknown>) => Record<string, unknown>) {
  const intents = new Map<string, { amount: number; currency: string; merchant_reference: string }>();
  const client = {
    async request(_method: string, path: string, body?: unknown) {
      if (path === '/v1/payment_intents') {
        const b = body as { amount: number; currency: string; merchant_reference: string };
        const id = `pi_${randomId(8).replace(/-/g, '_')}`;
        intents.set(id, b);
        return { status: 200, body: { id, status: 'requires_confirmation', ...b, amount_captured: 0 } };
      }
      const confirm = /^\/v1\/payment_intents\/([A-Za-z0-9_]+)\/confirm$/.exec(path);
      if (confirm) {
        const i = intents.get(confirm[1]!)!;
        return { status: 200, body: { id: confirm[1], status: 'succeeded', ...i, amount_captured: i.amount } };
      }
      if (path === '/v1/refunds') {
        const intent = (body as { payment_intent: string }).payment_intent;
        const i = intents.get(intent)!;
        return { status: 200, body: refundEcho({ id: 're_0000honest', payment_intent: intent, amount: i.amount, currency: i.currency, status: 'succeeded' }) };
      }
      return { status: 404, body: { error: { code: 'resource_missing' } } };
    },
  };
  return client as unknown as AcquirerClient;
}

describe('the card adapter refuses (money mutation kills)', () => {
  async function paidThrough(refundEcho: (honest: Record<string, unknown>) => Record<string, unknown>) {
    const operator = await signer();
    const payee = await signer();
    const adapter = new CardAdapterService({
      operator,
      acquirerName: 'wire-acquirer',
      merchants: new Map([[payee.keyId, acquirerOnTheWire(refundEcho)]]),
      now: () => NOW,
    });
    const requestId = randomId(16);
    await adapter.pay({ requestId, payee: payee.keyId, amount: chf(1250), reference: 'deal-card-kill-1', cardToken: 'tok_visa' });
    const order = await deviceKeySigner(payee)(cardRefund({ requestId, reference: 'deal-card-kill-1', amount: chf(1250), now: NOW }));
    return { adapter, requestId, order, payee };
  }

  it("a refund echo naming another payment intent (an attacker's earlier refund shown for this one): no refund receipt is signed", async () => {
    const { adapter, requestId, order } = await paidThrough((honest) => ({ ...honest, payment_intent: 'pi_someone_else' }));
    expect(await code(adapter.refund({ request: order }))).toBe('ERR_ITEM_MISMATCH');
    expect(adapter.db.prepare<[string], { refund: string | null }>('SELECT refund FROM card_payments WHERE request_id = ?').get(requestId)).toEqual({
      refund: null,
    });
    adapter.close();
  });

  it("a refund order naming another deal (the payee's refund of deal B presented against deal A's payment) is refused, nothing refunded", async () => {
    let refunds = 0;
    const { adapter, requestId, payee } = await paidThrough((honest) => {
      refunds++;
      return honest;
    });
    const sign = deviceKeySigner(payee);
    const otherDeal = await sign(cardRefund({ requestId, reference: 'deal-card-kill-2', amount: chf(1250), now: NOW }));
    expect(await code(adapter.refund({ request: otherDeal }))).toBe('ERR_ITEM_MISMATCH');
    // The body names this deal but the statement was signed for another (its dealId).
    const wrongDealId = await sign({ ...cardRefund({ requestId, reference: 'deal-card-kill-1', amount: chf(1250), now: NOW }), dealId: 'deal-card-kill-2' });
    expect(await code(adapter.refund({ request: wrongDealId }))).toBe('ERR_ITEM_MISMATCH');
    expect(refunds).toBe(0);
    adapter.close();
  });
});
