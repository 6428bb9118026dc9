/**
 * The marketplace's card payments: the card acquirer (server/acquirer, its own REST API, its own
 * ledger `acquirer.sqlite`) and the card adapter in front of it (server/payment-adapter, ledger
 * `card-adapter.sqlite`), each on its own loopback port.
 *
 * The adapter's *operator* signs the card proofs, so its key must outlive a restart (a shopper pins
 * it when saving a card, merchants and the TTP check proofs against it): a long-term ES256 key kept
 * by the one identity loader in `card-adapter-identity.sqlite`, certified by the marketplace CA with
 * role `bank` — the operator is a payment provider whose signed proofs stand for money, as a bank's
 * do (core/pki/certificates.ts has no other role for that; none is added).
 *
 * The demo shop's acquirer account (merchant id, API key, signing secret) is made at first start and
 * kept in `card-merchant.json` (0600): the adapter charges only for payees it holds such an account of
 * (`addPayee`).
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { IDENTITY_SCHEMA, loadPartyIdentity } from '../identity/party-identity.js';
import { SqliteStore } from '../storage/sqlite.js';
import { listen, type RunningServer } from '../http/listen.js';
import { AcquirerClient } from '../acquirer/client.js';
import { createAcquirerApp } from '../acquirer/app.js';
import { AcquirerService } from '../acquirer/service.js';
import { createCardAdapterApp } from './app.js';
import { CardAdapterService } from './service.js';

export const CARD_ADAPTER_IDENTITY_FILE = 'card-adapter-identity.sqlite';
export const CARD_MERCHANT_FILE = 'card-merchant.json';
export const DEFAULT_CARD_ADAPTER_NAME = 'Semper Demo Card Adapter';
export const DEMO_ACQUIRER_NAME = 'Semper Demo Acquirer';

export interface CardIssuer {
  readonly rootCertificate: string;
  issueBankCertificate(params: { commonName: string; publicKey: CryptoKey }): Promise<{ certificate: string }>;
}

export interface MarketplaceCard {
  acquirer: AcquirerService;
  adapter: CardAdapterService;
  acquirerUrl: string;
  adapterUrl: string;
  /** The operator's key id: what an offer names as the card proofs' issuer. */
  operatorKeyId: string;
  /** The operator's certificate (DER base64, role bank). */
  operatorCertificate: string;
  /** Let the adapter charge for `payee` (a key id) into the demo shop's acquirer account. */
  addPayee(payee: string): void;
  /** The demo shop's acquirer account id. */
  merchantId: string;
  /** What the acquirer captured for a merchant reference (a deal): count of captured intents and their sum. */
  capturedFor(reference: string): { count: number; amount: number };
  close(): Promise<void>;
}

export async function openMarketplaceCard(options: {
  dataDir: string;
  ca: CardIssuer;
  host: string;
  acquirerPort: number;
  adapterPort: number;
  now?: () => number;
}): Promise<MarketplaceCard> {
  const { dataDir, ca, host } = options;
  const store = SqliteStore.open({ dataDir, fileName: CARD_ADAPTER_IDENTITY_FILE, schema: [IDENTITY_SCHEMA] });
  let identity: Awaited<ReturnType<typeof loadPartyIdentity>>;
  try {
    identity = await loadPartyIdentity({
      store,
      role: 'bank',
      root: ca.rootCertificate,
      issue: async (publicKey) => (await ca.issueBankCertificate({ commonName: DEFAULT_CARD_ADAPTER_NAME, publicKey })).certificate,
      ...(options.now ? { now: options.now } : {}),
    });
  } finally {
    store.close();
  }
  const closers: (() => void | Promise<void>)[] = [];
  const close = async () => {
    for (const c of closers.reverse()) await c();
  };
  try {
    const acquirer = new AcquirerService({ file: join(dataDir, 'acquirer.sqlite'), ...(options.now ? { now: options.now } : {}) });
    closers.push(() => acquirer.close());
    const acquirerApp = createAcquirerApp(acquirer, options.now ? { now: options.now } : {});
    const acquirerServer: RunningServer = await listen({ host, port: options.acquirerPort, fetch: (request) => acquirerApp.fetch(request) });
    closers.push(() => acquirerServer.close());

    const credsPath = join(dataDir, CARD_MERCHANT_FILE);
    let creds: { merchantId: string; apiKey: string; signingSecret: string };
    if (existsSync(credsPath)) creds = JSON.parse(readFileSync(credsPath, 'utf8')) as typeof creds;
    else {
      creds = acquirer.createMerchant('Fogra Literature Service');
      writeFileSync(`${credsPath}.tmp`, JSON.stringify(creds), { mode: 0o600 });
      renameSync(`${credsPath}.tmp`, credsPath);
    }
    const client = new AcquirerClient(acquirerServer.url, creds, options.now ? { now: options.now } : {});
    const merchants = new Map<string, AcquirerClient>();
    const adapter = new CardAdapterService({
      operator: identity.signer,
      acquirerName: DEMO_ACQUIRER_NAME,
      merchants,
      file: join(dataDir, 'card-adapter.sqlite'),
      ...(options.now ? { now: options.now } : {}),
    });
    closers.splice(1, 0, () => adapter.close());
    const adapterApp = createCardAdapterApp(adapter);
    const adapterServer = await listen({ host, port: options.adapterPort, fetch: (request) => adapterApp.fetch(request) });
    closers.push(() => adapterServer.close());
    return {
      acquirer,
      adapter,
      acquirerUrl: acquirerServer.url,
      adapterUrl: adapterServer.url,
      operatorKeyId: identity.signer.keyId,
      operatorCertificate: identity.certificate,
      merchantId: creds.merchantId,
      addPayee: (payee) => merchants.set(payee, client),
      capturedFor: (reference) =>
        acquirer.db
          .prepare<[string], { count: number; amount: number | null }>(
            'SELECT COUNT(*) AS count, SUM(c.amount) AS amount FROM captures c JOIN payment_intents i ON i.id = c.intent WHERE i.merchant_reference = ?',
          )
          .all(reference)
          .map((r) => ({ count: r.count, amount: r.amount ?? 0 }))[0]!,
      close,
    };
  } catch (e) {
    await close();
    throw e;
  }
}
