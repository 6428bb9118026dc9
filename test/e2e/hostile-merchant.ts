/**
 * A hostile merchant for the e2e suite: a real HTTP origin on 127.0.0.1 that serves a shop page
 * (with the demo shop's own `/shop.js`) and answers `POST /semper/offer` with an offer crafted
 * to be wrong in exactly one way. The test sets `mode` before each purchase. Certificates come
 * from the production core/pki functions: a CA the extension trusts (configured by the test),
 * and one it does not.
 */
import { createHash } from 'node:crypto';
import { Hono } from 'hono';
import { OfferRequest, STATEMENT_TYPES, type OfferBody } from '../../core/protocol/commerce.js';
import { randomId } from '../../core/encoding/index.js';
import { signStatement, type Statement } from '../../core/statements/index.js';
import type { Signer } from '../../core/crypto/index.js';
import { listen, type RunningServer } from '../../server/http/listen.js';
import { SHOP_SCRIPT } from '../../server/shop/shop-script.js';
import { makeTestCa, type TestCa } from '../helpers/pki.js';

export type HostileMode =
  /** A correct offer (control case: it must reach the trusted window). */
  'valid' | 'bad-signature' | 'other-origin-certificate' | 'expired-certificate' | 'unknown-ca' | 'replayed-nonce' | 'expired-offer';

export const HOSTILE_LEGAL_NAME = 'Hostile Test Merchant GmbH';
export const HOSTILE_SKU = 'widget';
const WIDGET = 'one widget\n';
/** base64url SHA-256 of WIDGET */
const WIDGET_DIGEST = createHash('sha256').update(WIDGET).digest('base64url');
const DAY = 86_400_000;

interface Identity {
  signer: Signer;
  chain: string[];
}

export interface HostileMerchant {
  url: string;
  /** The root the extension is told to trust. */
  trustedRoot: string;
  mode: HostileMode;
  /** Offer requests received, newest last. */
  requests: OfferRequest[];
  close(): Promise<void>;
}

export async function startHostileMerchant(): Promise<HostileMerchant> {
  const trustedCa: TestCa = await makeTestCa('Hostile Test Trusted Root');
  const unknownCa: TestCa = await makeTestCa('Unknown Root CA');
  let server: RunningServer | undefined;
  const identities = new Map<string, Identity>();
  const state: HostileMerchant = {
    url: '',
    trustedRoot: trustedCa.root,
    mode: 'valid',
    requests: [],
    close: async () => server?.close(),
  };

  const app = new Hono();
  app.get('/', (c) =>
    c.html(`<!doctype html>
<html lang="en"><head><script>document.documentElement.dataset.semperAtFirstScript = typeof window.semper;</script>
<meta charset="utf-8"><title>Hostile shop</title><script src="/shop.js" defer></script></head>
<body><h1>Totally legitimate widgets</h1>
<label for="quantity">Quantity</label><input type="number" id="quantity" value="1">
<button type="button" id="buy" data-semper-buy data-sku="${HOSTILE_SKU}">Buy with Semper</button>
<output id="semper-result" data-status="idle"></output>
</body></html>`),
  );
  app.get('/shop.js', (c) => {
    c.header('content-type', 'text/javascript; charset=utf-8');
    return c.body(SHOP_SCRIPT);
  });
  app.get('/favicon.ico', (c) => c.body(null, 204));
  app.post('/semper/offer', async (c) => {
    const request = OfferRequest.parse(await c.req.json());
    state.requests.push(request);
    const offer = await craftOffer(request, state.mode);
    return c.json({ offer });
  });
  app.post('/semper/order', (c) => c.json({ error: { code: 'ERR_OFFER_UNKNOWN', message: 'this merchant takes no orders' } }, 409));

  async function identity(kind: 'good' | 'other-origin' | 'expired' | 'unknown-ca'): Promise<Identity> {
    const cached = identities.get(kind);
    if (cached) return cached;
    const now = Date.now();
    const issued =
      kind === 'good'
        ? await trustedCa.issue({ commonName: HOSTILE_LEGAL_NAME, role: 'merchant', origins: [state.url] })
        : kind === 'other-origin'
          ? await trustedCa.issue({ commonName: HOSTILE_LEGAL_NAME, role: 'merchant', origins: ['https://shop.example'] })
          : kind === 'expired'
            ? await trustedCa.issue({
                commonName: HOSTILE_LEGAL_NAME,
                role: 'merchant',
                origins: [state.url],
                notBefore: new Date(now - 3 * DAY),
                notAfter: new Date(now - DAY),
              })
            : await unknownCa.issue({ commonName: HOSTILE_LEGAL_NAME, role: 'merchant', origins: [state.url] });
    const id = { signer: issued.signer, chain: issued.chain };
    identities.set(kind, id);
    return id;
  }

  async function craftOffer(request: OfferRequest, mode: HostileMode): Promise<Statement<OfferBody>> {
    const now = Date.now();
    const who =
      mode === 'other-origin-certificate'
        ? await identity('other-origin')
        : mode === 'expired-certificate'
          ? await identity('expired')
          : mode === 'unknown-ca'
            ? await identity('unknown-ca')
            : await identity('good');
    const body: OfferBody = {
      offerId: randomId(18),
      // A replayed offer echoes some earlier nonce, not this request's.
      nonce: mode === 'replayed-nonce' ? randomId(32) : request.nonce,
      origin: state.url,
      items: request.items.map((i) => ({
        sku: i.sku,
        title: 'Widget',
        quantity: i.quantity,
        unitPrice: { amount: 999, currency: 'EUR' },
        kind: 'digital' as const,
        // What the widget delivers (issue 8 item 1: offers commit to it; a shopper refuses one that does not).
        content: { kind: 'content' as const, mediaType: 'text/plain', digest: WIDGET_DIGEST, size: WIDGET.length },
      })),
      total: { amount: 999 * request.items.reduce((s, i) => s + i.quantity, 0), currency: 'EUR' },
      expiresAt: new Date(mode === 'expired-offer' ? now - 60_000 : now + 600_000).toISOString(),
      terms: 'No refunds. Ever.',
      paymentMethods: ['invoice'],
    };
    const offer = await signStatement<OfferBody>(
      {
        type: STATEMENT_TYPES.offer,
        version: 1,
        dealId: request.dealId,
        issuedAt: new Date(now - (mode === 'expired-offer' ? 600_000 : 0)).toISOString(),
        body,
      },
      who.signer,
      { signerRef: { kind: 'x509', chain: who.chain } },
    );
    if (mode === 'bad-signature') {
      // Flip the first character: still canonical base64url of 64 bytes, but not the signature.
      const value = offer.signature.value;
      const first = value[0] === 'A' ? 'B' : 'A';
      return { ...offer, signature: { ...offer.signature, value: first + value.slice(1) } } as Statement<OfferBody>;
    }
    return offer;
  }

  server = await listen({ host: '127.0.0.1', port: 0, fetch: (req) => app.fetch(req) });
  state.url = server.url;
  return state;
}
