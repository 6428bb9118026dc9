/**
 * The demo marketplace `npm start` runs: the CA, the Fogra demo shop, the TTP, the bank, the arbiter
 * and the time-stamping authority (server/tsa, RFC 3161, docs/timestamps.md), each
 * its own party with its own database, on loopback only. Importable too: tests start real servers
 * in-process with `startMarketplace({ ..., caPort: 0, shopPort: 0 })`.
 *
 * The bank (server/bank, docs/payment.md) keeps EUR accounts: at start it makes sure the demo
 * shop has an account (payee: the shop's merchant key id) and, until a holder has opened it, that
 * a one-time account-opening code for the pre-funded "Demo Shopper" account exists (printed, and
 * in `bank-account-code.txt`): the shopper's key is not known here, so the holder opens the account
 * with the code and a statement signed by its own key (POST /bank/accounts/open).
 *
 * Start-up order matters: the shop's certificate names its exact origin, and with port 0 that
 * origin is known only after listening, so the shop listens first (answering 503 for the
 * moment), then enrols with the CA, then serves.
 */
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Hono } from 'hono';
import { z } from 'zod';
import { createWebAuthnVerifier } from '../core/crypto/webauthn.js';
import { certificateToPem, fingerprintOf } from '../core/pki/index.js';
import { EXTENSION_ORIGIN, extensionRelyingParties, tokenRpIdFor } from '../core/protocol/extension-id.js';
import { errorBody } from './http/errors.js';
import { assertLoopback, listen, urlFor, type RunningServer } from './http/listen.js';
import { type BankService, createBankApp, openMarketplaceBank, type RotationPolicy, type RsaKeyFactory } from './bank/index.js';
import { CaService, createCaApp } from './ca/index.js';
import { openShop, type Shop } from './shop/index.js';
import { createTtpApp, openMarketplaceTtp } from './ttp/index.js';
import { DEFAULT_TTP_NAME } from './ttp/open.js';
import { type ArbiterService, createArbiterApp, openMarketplaceArbiter } from './arbiter/index.js';
import { createTsaApp, inProcessTimestamper, openMarketplaceTsa } from './tsa/index.js';
import { StatementStamps } from './storage/statement-stamps.js';
import type { Timestamper } from '../core/timestamp/index.js';
import type { ExchangeFaults, FairPurchaseFaults } from './merchant/kit.js';
import type { ExchangeTiming } from '../core/commerce/exchange-deal.js';
import { type MarketplaceCard, openMarketplaceCard } from './payment-adapter/open.js';

export interface MarketplaceOptions {
  dataDir: string;
  /**
   * PostgreSQL for the TTP's decisions, the bank's ledger, the CA's register and the shop's deals
   * (docs/operations.md); absent: their SQLite files in dataDir. `npm start` reads
   * SEMPER_TTP_DATABASE_URL, SEMPER_BANK_DATABASE_URL, SEMPER_CA_DATABASE_URL and
   * SEMPER_SHOP_DATABASE_URL, each defaulting to SEMPER_DATABASE_URL. `moreTtps`: the second and
   * third TTP's (SEMPER_TTP2_DATABASE_URL, SEMPER_TTP3_DATABASE_URL, no default: each TTP needs a
   * database of its own, and a TTP refuses one that keeps another TTP's decisions); absent, their
   * SQLite files in dataDir/ttp-2 and dataDir/ttp-3.
   */
  databaseUrls?: { ttp?: string; bank?: string; ca?: string; shop?: string; moreTtps?: [string | undefined, string | undefined] };
  /** 0 for an ephemeral port. */
  caPort: number;
  shopPort: number;
  /** The TTP's port (default 0: ephemeral; `npm start` uses SEMPER_TTP_PORT, 8452). */
  ttpPort?: number;
  /** The second and third TTPs' ports (default 0; `npm start` uses SEMPER_TTP2_PORT 8458, SEMPER_TTP3_PORT 8459). */
  moreTtpPorts?: [number, number];
  /** The bank's port (default 0: ephemeral; `npm start` uses SEMPER_BANK_PORT, 8453). */
  bankPort?: number;
  /** The arbiter's port (default 0: ephemeral; `npm start` uses SEMPER_ARBITER_PORT, 8455). */
  arbiterPort?: number;
  /** The time-stamping authority's port (default 0: ephemeral; `npm start` uses SEMPER_TSA_PORT, 8454). */
  tsaPort?: number;
  /** Card payments: the acquirer's and the card adapter's ports (default 0; `npm start` uses SEMPER_ACQUIRER_PORT 8456, SEMPER_ADAPTER_PORT 8457). */
  acquirerPort?: number;
  adapterPort?: number;
  /** The bank's denomination keys: tests pass pre-made RSA keys (each takes ~0.3 s to make) and fewer values. */
  bank?: { keyFactory?: RsaKeyFactory; rotation?: Partial<RotationPolicy> };
  /** Account-opening attempts per minute at the bank (per code it issued, else per client address; default 10). */
  accountOpeningAttemptsPerMinute?: number;
  /** The shop's fair exchanges: timing it proposes, and test faults (a test may change them between cases). */
  exchange?: { timing?: ExchangeTiming; faults?: ExchangeFaults; fairFaults?: FairPurchaseFaults };
  /** Loopback only (127.0.0.1 by default). */
  host?: string;
  /** Clock for offers and certificates; tests inject one to make offers expire. */
  now?: () => number;
  offerTtlMs?: number;
  /**
   * The origin (and, in Chromium, the RP ID) of the extension whose hardware-token signatures the
   * shop accepts: `chrome-extension://<id>`, pinned by the manifest key (core/protocol/extension-id.ts).
   */
  extensionOrigin?: string;
  /**
   * Firefox: the web-domain RP IDs the shop and the arbiter accept with the pinned add-on's WebAuthn
   * origin (FIREFOX_WEBAUTHN_ORIGIN, core/protocol/extension-id.ts). Default: the one tied to the
   * marketplace's own address, as the extension derives it from the CA's (127.0.0.1 → `localhost`).
   */
  firefoxTokenRpIds?: readonly string[];
  /** Registration attempts per client address per minute at the CA (default 10). */
  registrationAttemptsPerMinute?: number;
  /** Signed statements per client address per minute at the shop and at the TTP (http/rate-limit.ts has the default). */
  signedStatementsPerMinute?: number;
}

export interface MarketplaceTtp {
  url: string;
  certificate: string;
  pem: string;
  keyId: string;
  commonName: string;
}

/** The shop's k for its set of three TTPs: a majority (docs/quorum.md). */
export const SHOP_TTP_QUORUM = 2;

export interface Marketplace {
  caUrl: string;
  shopUrl: string;
  /** The CA root, DER base64: what a shopper's extension must trust. */
  rootCertificate: string;
  rootPem: string;
  /** `dataDir/ca-root.pem`, for the extension's settings and for OpenSSL. */
  rootPemPath: string;
  /** The shop's current merchant certificate (DER base64). */
  merchantCertificate: string;
  /** The TTP that guarantees fairness of the shop's exchanges: its base URL (POST /ttp/requests). */
  ttpUrl: string;
  /** The TTP's certificate (DER base64, role ttp, from the marketplace CA): what a shopper adds to its trusted TTPs. */
  ttpCertificate: string;
  ttpPem: string;
  ttpKeyId: string;
  /**
   * k-of-n (docs/quorum.md): the three independent TTPs the shop accepts as a set with k = 2 (the first is the
   * TTP above), each its own key, certificate, database and port. A shopper that trusts them may choose them
   * and its k in its settings; one that does not keeps to the first TTP alone.
   */
  ttps: MarketplaceTtp[];
  /** The bank: its base URL (GET /bank, /bank/denominations, POST /bank/transfer, /bank/accounts/open, ...). */
  bankUrl: string;
  /** The bank's certificate (DER base64, role bank, from the marketplace CA): its key list is signed under it. */
  bankCertificate: string;
  bankPem: string;
  bankKeyId: string;
  /** The TSA (RFC 3161): POST `${tsaUrl}/tsa` (application/timestamp-query), GET `${tsaUrl}/tsa/certificate`. */
  tsaUrl: string;
  /** The TSA's certificate (DER base64, role tsa, EKU timeStamping critical, from the marketplace CA). */
  tsaCertificate: string;
  tsaPem: string;
  /** Tokens from the marketplace TSA without HTTP (same tokens, certificate included): for parties in this process. */
  timestamper: Timestamper;
  /** The bank itself (in-process: balances, the operator's functions). */
  bank: BankService;
  /** The demo shop's account at the bank (payee: the shop's merchant key id). */
  merchantAccount: string;
  /** Card payments: the acquirer and the card adapter (its operator signs card proofs) on loopback. */
  card: MarketplaceCard;
  /**
   * The one-time code that opens the pre-funded "Demo Shopper" account (also in
   * `dataDir/bank-account-code.txt`); undefined once a holder has opened it.
   */
  demoAccountCode: string | undefined;
  dataDir: string;
  /** The demo registration code made at start-up for "Demo Shopper" (also in `dataDir/registration-code.txt`). */
  demoRegistrationCode: string;
  /** A fresh one-time registration code for `name` (the CA operator's action; valid 7 days unless said otherwise). */
  createRegistrationCode(name: string, validForMs?: number): Promise<string>;
  /** The arbiter: its base URL (GET /arbiter/certificate, POST /arbiter/complaints, GET /arbiter/verdicts/:id). */
  arbiterUrl: string;
  /** The arbiter's certificate (DER base64, role arbiter, from the marketplace CA): its verdicts are signed under it. */
  arbiterCertificate: string;
  arbiterPem: string;
  arbiterKeyId: string;
  /** The arbiter itself (in-process: stored verdicts). */
  arbiter: ArbiterService;
  /** Operator revocation at the CA. */
  revokeCertificate(serial: string): Promise<void>;
  close(): Promise<void>;
}

export const DEMO_SHOPPER_NAME = 'Demo Shopper';
/** The bank's currency: the demo shop's prices are in EUR. */
export const BANK_CURRENCY = 'EUR';
/** What the Demo Shopper account holds when opened: 500.00 EUR. */
export const DEMO_ACCOUNT_FUNDING = 50_000;
export const BANK_ACCOUNT_CODE_FILE = 'bank-account-code.txt';
/** The demo bank's coins, in cents (0.10 to 50.00 EUR: every price of the shop in a few coins; six RSA keys to make at first start). */
export const DEMO_DENOMINATIONS = [10, 50, 100, 500, 1000, 5000];

function unavailable(): Response {
  return new Response(JSON.stringify(errorBody('ERR_INTERNAL', 'the shop is still starting')), {
    status: 503,
    headers: { 'content-type': 'application/json', 'retry-after': '1' },
  });
}

/** Write then rename, so a reader never sees a half-written PEM. */
function writeFileAtomic(path: string, text: string, mode = 0o644): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text, { mode });
  renameSync(tmp, path);
}

export async function startMarketplace(options: MarketplaceOptions): Promise<Marketplace> {
  const host = options.host ?? '127.0.0.1';
  assertLoopback(host);
  const dataDir = resolve(options.dataDir);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });

  const opened: { close(): void | Promise<void> }[] = [];
  const closeAll = async () => {
    // Servers first (stop taking requests), then the databases they write to.
    for (const item of [...opened].reverse()) await item.close();
  };
  try {
    const ca = await CaService.open({
      dataDir,
      ...(options.databaseUrls?.ca ? { databaseUrl: options.databaseUrls.ca } : {}),
      ...(options.now ? { now: options.now } : {}),
    });
    opened.push(ca);
    const rootPemPath = join(dataDir, 'ca-root.pem');
    writeFileAtomic(rootPemPath, ca.rootPem);
    const caApp = createCaApp(ca, {
      ...(options.registrationAttemptsPerMinute !== undefined ? { registrationAttemptsPerMinute: options.registrationAttemptsPerMinute } : {}),
      ...(options.now ? { now: options.now } : {}),
    });
    // env carries the socket, so the CA can limit registration attempts per client address.
    const caServer = await listen({ host, port: options.caPort, fetch: (req, env) => caApp.fetch(req, env) });
    opened.push(caServer);
    // Certificates issued from here on tell verifiers where the CA publishes revocations.
    ca.publishCrlAt(`${caServer.url}/ca/crl.der`);
    // One demo code, so a first-time user can register the extension right away. A secret: 0600.
    const demoRegistrationCode = await ca.createRegistrationCode({ name: DEMO_SHOPPER_NAME });
    writeFileAtomic(join(dataDir, 'registration-code.txt'), `${demoRegistrationCode}\n`, 0o600);

    // The TSA: its own key (certified by the CA, role tsa, EKU timeStamping critical), serials and
    // tokens in tsa.sqlite, on its own port.
    const tsa = await openMarketplaceTsa({ dataDir, ca, ...(options.now ? { now: options.now } : {}) });
    opened.push(tsa);
    const tsaApp = createTsaApp(tsa, options.now ? { now: options.now } : {});
    // env carries the socket: the TSA limits requests per client address.
    const tsaServer = await listen({ host, port: options.tsaPort ?? 0, fetch: (req, env) => tsaApp.fetch(req, env) });
    opened.push(tsaServer);
    writeFileAtomic(join(dataDir, 'tsa.pem'), certificateToPem(tsa.certificate));

    // The TTP's decisions are time-stamped by the TSA right after they are answered (never on the
    // answer's path); the tokens go into its evidence exports.
    const ttpStamps = StatementStamps.open({ dataDir, party: 'ttp', timestamper: inProcessTimestamper(tsa), ...(options.now ? { now: options.now } : {}) });
    opened.push(ttpStamps);

    // The TTP: its own key and database, certified by the CA, on its own port.
    const ttp = await openMarketplaceTtp({
      dataDir,
      ca,
      ...(options.databaseUrls?.ttp ? { databaseUrl: options.databaseUrls.ttp } : {}),
      ...(options.now ? { now: options.now } : {}),
    });
    opened.push(ttp);
    const ttpApp = createTtpApp(ttp, {
      stamps: ttpStamps,
      ...(options.signedStatementsPerMinute !== undefined ? { signedStatementsPerMinute: options.signedStatementsPerMinute } : {}),
      ...(options.now ? { now: options.now } : {}),
    });
    // env carries the socket: the TTP limits signed answers per client address.
    const ttpServer = await listen({ host, port: options.ttpPort ?? 0, fetch: (req, env) => ttpApp.fetch(req, env) });
    opened.push(ttpServer);
    const ttpCertificate = ttp.certificateChain[0]!;
    writeFileAtomic(join(dataDir, 'ttp.pem'), certificateToPem(ttpCertificate));

    // Two more TTPs for k-of-n exchanges: each its own key, certificate (own name), decisions and port, in its own
    // subdirectory, or each its own PostgreSQL database (or schema): a TTP refuses a database that keeps another's decisions.
    const moreTtps: { service: typeof ttp; server: RunningServer; commonName: string }[] = [];
    for (const [i, port] of (options.moreTtpPorts ?? [0, 0]).entries()) {
      const commonName = `${DEFAULT_TTP_NAME} ${i + 2}`;
      const dir = join(dataDir, `ttp-${i + 2}`);
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      const databaseUrl = options.databaseUrls?.moreTtps?.[i];
      const service = await openMarketplaceTtp({
        dataDir: dir,
        ca,
        commonName,
        ...(databaseUrl ? { databaseUrl } : {}),
        ...(options.now ? { now: options.now } : {}),
      });
      opened.push(service);
      const app = createTtpApp(service, {
        ...(options.signedStatementsPerMinute !== undefined ? { signedStatementsPerMinute: options.signedStatementsPerMinute } : {}),
        ...(options.now ? { now: options.now } : {}),
      });
      const server = await listen({ host, port, fetch: (req, env) => app.fetch(req, env) });
      opened.push(server);
      writeFileAtomic(join(dataDir, `ttp-${i + 2}.pem`), certificateToPem(service.certificateChain[0]!));
      moreTtps.push({ service, server, commonName });
    }
    const ttps: MarketplaceTtp[] = [{ service: ttp, server: ttpServer, commonName: DEFAULT_TTP_NAME }, ...moreTtps].map((t) => ({
      url: t.server.url,
      certificate: t.service.certificateChain[0]!,
      pem: certificateToPem(t.service.certificateChain[0]!),
      keyId: t.service.keyId,
      commonName: t.commonName,
    }));

    // The bank: its own key (certified by the CA, role bank) and ledger, on its own port. It honours
    // revocation orders of the marketplace TTP (revocable account transfers in fair exchanges).
    const bank = await openMarketplaceBank({
      dataDir,
      ca,
      currency: BANK_CURRENCY,
      trustedTtps: [ttp.keyId],
      ...(options.databaseUrls?.bank ? { databaseUrl: options.databaseUrls.bank } : {}),
      rotation: { values: DEMO_DENOMINATIONS, ...options.bank?.rotation },
      ...(options.bank?.keyFactory ? { keyFactory: options.bank.keyFactory } : {}),
      ...(options.now ? { now: options.now } : {}),
    });
    opened.push(bank);
    // Its receipts and payment proofs are time-stamped by the TSA after each answer; tokens in its evidence export.
    const bankStamps = StatementStamps.open({ dataDir, party: 'bank', timestamper: inProcessTimestamper(tsa), ...(options.now ? { now: options.now } : {}) });
    opened.push(bankStamps);
    const bankApp = createBankApp(bank, {
      stamps: bankStamps,
      ...(options.signedStatementsPerMinute !== undefined ? { signedStatementsPerMinute: options.signedStatementsPerMinute } : {}),
      ...(options.accountOpeningAttemptsPerMinute !== undefined ? { accountOpeningAttemptsPerMinute: options.accountOpeningAttemptsPerMinute } : {}),
      ...(options.now ? { now: options.now } : {}),
    });
    // env carries the socket: the bank limits signed answers and opening attempts per client address.
    const bankServer = await listen({ host, port: options.bankPort ?? 0, fetch: (req, env) => bankApp.fetch(req, env) });
    opened.push(bankServer);
    const bankCertificate = bank.certificateChain![0]!;
    writeFileAtomic(join(dataDir, 'bank.pem'), certificateToPem(bankCertificate));
    // The Demo Shopper account: a fresh code while nobody has opened it (a newer code withdraws the
    // older ones, so restarts never leave two live codes); once opened, no code and no file. A secret: 0600.
    const codePath = join(dataDir, BANK_ACCOUNT_CODE_FILE);
    let demoAccountCode: string | undefined;
    if ((await bank.accountOpenedFor(DEMO_SHOPPER_NAME)) === undefined) {
      demoAccountCode = await bank.createAccountOpeningCode({ name: DEMO_SHOPPER_NAME, amount: DEMO_ACCOUNT_FUNDING });
      writeFileAtomic(codePath, `${demoAccountCode}\n`, 0o600);
    } else rmSync(codePath, { force: true });

    // Card payments: a card acquirer (its own REST API) and the card adapter whose operator (key certified
    // role bank) signs `semper.payment.proof {method: 'card'}`; the shop's fair purchases take card through it.
    const card = await openMarketplaceCard({
      dataDir,
      ca,
      host,
      acquirerPort: options.acquirerPort ?? 0,
      adapterPort: options.adapterPort ?? 0,
      ...(options.now ? { now: options.now } : {}),
    });
    opened.push(card);
    const cardPayment = { methods: ['cash', 'account', 'card'] as const, card: { keyId: card.operatorKeyId, url: card.adapterUrl } };

    // The shop's stamps close after its server (opened before it): no stamp is asked of a closed store.
    const shopStamps = StatementStamps.open({ dataDir, party: 'shop', timestamper: inProcessTimestamper(tsa), ...(options.now ? { now: options.now } : {}) });
    opened.push(shopStamps);
    let shopApp: Hono | undefined;
    // env carries the socket: the merchant kit limits signed statements per client address.
    const shopServer: RunningServer = await listen({ host, port: options.shopPort, fetch: (req, env) => (shopApp ? shopApp.fetch(req, env) : unavailable()) });
    opened.push(shopServer);
    const extensionOrigin = options.extensionOrigin ?? EXTENSION_ORIGIN;
    const hostRpId = tokenRpIdFor(urlFor(host, shopServer.port));
    // The pinned Chromium extension (origin = RP ID) and the pinned Firefox add-on with the web-domain RP IDs above.
    const tokenSigners = extensionRelyingParties({
      chromiumOrigin: extensionOrigin,
      firefoxRpIds: options.firefoxTokenRpIds ?? (hostRpId ? [hostRpId] : []),
    });
    const shop: Shop = await openShop({
      dataDir,
      ...(options.databaseUrls?.shop ? { databaseUrl: options.databaseUrls.shop } : {}),
      origin: urlFor(host, shopServer.port),
      ca,
      // Orders may be signed by a shopper certificate from this CA, checked against its CRL
      // (loaded before each step; so are the certificates in exchange messages, e.g. the TTP's)...
      shopperTrust: { roots: [ca.rootCertificate] },
      revocation: ca.revocationSource(),
      // ...or by a hardware token in the extension's trusted window. UV is not required here:
      // the offer says when it is (orderSignature), and the merchant machine enforces that.
      webauthn: createWebAuthnVerifier({ relyingParties: tokenSigners, requireUserVerification: false }),
      ...(options.now ? { now: options.now } : {}),
      ...(options.offerTtlMs !== undefined ? { offerTtlMs: options.offerTtlMs } : {}),
      // Purchases may be paid by cheque: presented at the bank, delivered only once cleared.
      cheque: { bank: { keyId: bank.keyId, url: bankServer.url } },
      // The orders it accepts are time-stamped by the TSA (after the answer; tokens in its evidence).
      stamps: shopStamps,
      ...(options.signedStatementsPerMinute !== undefined ? { signedStatementsPerMinute: options.signedStatementsPerMinute } : {}),
      exchange: {
        ttp: { keyId: ttp.keyId, url: ttpServer.url, certificateChain: ttp.certificateChain },
        // Exchange deals may be guaranteed by any majority of the three TTPs (or the first alone, for shoppers without a set).
        quorum: { k: SHOP_TTP_QUORUM, ttps: ttps.map((t) => ({ keyId: t.keyId, url: t.url, certificateChain: [t.certificate] })) },
        // Fair purchases: goods sealed to the TTP's sealing key, paid to the shop's account (bound to its merchant key, opened below).
        fair: {
          ...(await ttp.sealingAnnouncement()),
          payment: { methods: [...cardPayment.methods], card: cardPayment.card, bank: { keyId: bank.keyId, url: bankServer.url } },
          ...(options.exchange?.fairFaults ? { faults: options.exchange.fairFaults } : {}),
        },
        ...(options.exchange?.timing ? { timing: options.exchange.timing } : {}),
        ...(options.exchange?.faults ? { faults: options.exchange.faults } : {}),
      },
    });
    // The shop's database must close after its server: push it before the server in close order.
    opened.splice(opened.indexOf(shopServer), 0, shop);
    shopApp = shop.app;
    // The shop's account at the bank, bound to its merchant key: what a payment to the shop credits.
    const merchantAccount = (await bank.accountOfKey(shop.identity.signer.keyId)) ?? (await bank.openAccount(shop.identity.signer.publicJwk));
    // ...and at the acquirer, through the adapter: a card payment to the shop's key is charged to the shop's acquirer account.
    card.addPayee(shop.identity.signer.keyId);

    // The arbiter: its own key (certified by the CA, role arbiter) and append-only verdicts in
    // arbiter.sqlite, on its own port. It checks certified signers against the CA's CRL, accepts
    // hardware-token orders as the shop does, and the marketplace bank's payment proofs.
    // Its verdicts are time-stamped by the TSA once stored (GET /arbiter/verdicts/:id gives the token).
    const arbiterStamps = StatementStamps.open({
      dataDir,
      party: 'arbiter',
      timestamper: inProcessTimestamper(tsa),
      ...(options.now ? { now: options.now } : {}),
    });
    opened.push(arbiterStamps);
    const arbiter = await openMarketplaceArbiter({
      dataDir,
      ca,
      stamps: arbiterStamps,
      paymentIssuers: [bank.keyId],
      revocation: ca.revocationSource(),
      webauthn: createWebAuthnVerifier({ relyingParties: tokenSigners, requireUserVerification: false }),
      ...(options.now ? { now: options.now } : {}),
    });
    opened.push(arbiter);
    const arbiterApp = createArbiterApp(arbiter, {
      ...(options.signedStatementsPerMinute !== undefined ? { signedStatementsPerMinute: options.signedStatementsPerMinute } : {}),
      ...(options.now ? { now: options.now } : {}),
    });
    // env carries the socket: the arbiter limits complaints per client address.
    const arbiterServer = await listen({ host, port: options.arbiterPort ?? 0, fetch: (req, env) => arbiterApp.fetch(req, env) });
    opened.push(arbiterServer);
    const arbiterCertificate = arbiter.certificateChain[0]!;
    writeFileAtomic(join(dataDir, 'arbiter.pem'), certificateToPem(arbiterCertificate));
    // The shop's operator files its complaints with this arbiter (POST /semper/deals/:dealId/dispute).
    shop.kit.setArbiter({ url: arbiterServer.url, certificate: arbiterCertificate, roots: [ca.rootCertificate] });

    let closing: Promise<void> | undefined;
    return {
      caUrl: caServer.url,
      shopUrl: shopServer.url,
      rootCertificate: ca.rootCertificate,
      rootPem: ca.rootPem,
      rootPemPath,
      merchantCertificate: shop.identity.certificate,
      ttpUrl: ttpServer.url,
      ttpCertificate,
      ttpPem: certificateToPem(ttpCertificate),
      ttpKeyId: ttp.keyId,
      ttps,
      bankUrl: bankServer.url,
      bankCertificate,
      bankPem: certificateToPem(bankCertificate),
      bankKeyId: bank.keyId,
      tsaUrl: tsaServer.url,
      tsaCertificate: tsa.certificate,
      tsaPem: certificateToPem(tsa.certificate),
      timestamper: inProcessTimestamper(tsa),
      bank,
      merchantAccount,
      card,
      demoAccountCode,
      arbiterUrl: arbiterServer.url,
      arbiterCertificate,
      arbiterPem: certificateToPem(arbiterCertificate),
      arbiterKeyId: arbiter.keyId,
      arbiter,
      dataDir,
      demoRegistrationCode,
      createRegistrationCode: (name, validForMs) => ca.createRegistrationCode({ name, ...(validForMs !== undefined ? { validForMs } : {}) }),
      revokeCertificate: async (serial) => {
        await ca.revoke(serial, 'unspecified');
      },
      close: () => (closing ??= closeAll()),
    };
  } catch (e) {
    await closeAll();
    throw e;
  }
}

const Port = z.coerce.number().int().min(0).max(65535);

function envPort(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const parsed = Port.safeParse(raw);
  if (!parsed.success) throw new Error(`${name} must be a port number (0-65535), not ${raw}`);
  return parsed.data;
}

async function main(): Promise<void> {
  const databaseUrl = (party: string) => process.env[`SEMPER_${party}_DATABASE_URL`] || process.env.SEMPER_DATABASE_URL || undefined;
  const [ttpDb, bankDb, caDb, shopDb] = [databaseUrl('TTP'), databaseUrl('BANK'), databaseUrl('CA'), databaseUrl('SHOP')];
  // Not SEMPER_DATABASE_URL: the first TTP's decisions are there, and each TTP needs a database of its own.
  const moreTtpDbs: [string | undefined, string | undefined] = [
    process.env.SEMPER_TTP2_DATABASE_URL || undefined,
    process.env.SEMPER_TTP3_DATABASE_URL || undefined,
  ];
  const market = await startMarketplace({
    dataDir: process.env.SEMPER_DATA_DIR || './data',
    databaseUrls: {
      ...(ttpDb ? { ttp: ttpDb } : {}),
      ...(bankDb ? { bank: bankDb } : {}),
      ...(caDb ? { ca: caDb } : {}),
      ...(shopDb ? { shop: shopDb } : {}),
      ...(moreTtpDbs.some(Boolean) ? { moreTtps: moreTtpDbs } : {}),
    },
    caPort: envPort('SEMPER_CA_PORT', 8450),
    shopPort: envPort('SEMPER_SHOP_PORT', 8451),
    ttpPort: envPort('SEMPER_TTP_PORT', 8452),
    moreTtpPorts: [envPort('SEMPER_TTP2_PORT', 8458), envPort('SEMPER_TTP3_PORT', 8459)],
    bankPort: envPort('SEMPER_BANK_PORT', 8453),
    arbiterPort: envPort('SEMPER_ARBITER_PORT', 8455),
    tsaPort: envPort('SEMPER_TSA_PORT', 8454),
    acquirerPort: envPort('SEMPER_ACQUIRER_PORT', 8456),
    adapterPort: envPort('SEMPER_ADAPTER_PORT', 8457),
  });
  const dist = resolve('dist');
  console.log(
    [
      '',
      'Semper marketplace',
      `  Shop (Fogra Literature Service)  ${market.shopUrl}/`,
      `  Certification authority          ${market.caUrl}/ca/root`,
      `  CA root certificate (PEM)        ${market.rootPemPath}`,
      `  CA root fingerprint (SHA-256)    ${await fingerprintOf(market.rootCertificate)}`,
      `  Trusted third party (TTP)        ${market.ttpUrl}/ttp`,
      `  TTP certificate (PEM)            ${join(market.dataDir, 'ttp.pem')}`,
      `  TTP fingerprint (SHA-256)        ${await fingerprintOf(market.ttpCertificate)}`,
      ...(
        await Promise.all(
          market.ttps
            .slice(1)
            .map(async (t, i) => [
              `  ${`TTP ${i + 2}: ${t.commonName}`.padEnd(32)} ${t.url}/ttp`,
              `  ${`TTP ${i + 2} certificate (PEM)`.padEnd(32)} ${join(market.dataDir, `ttp-${i + 2}.pem`)}`,
              `  ${`TTP ${i + 2} fingerprint (SHA-256)`.padEnd(32)} ${await fingerprintOf(t.certificate)}`,
            ]),
        )
      ).flat(),
      `  Exchanges may be guaranteed by any ${SHOP_TTP_QUORUM} of these ${market.ttps.length} TTPs: popup → Trust → Who guarantees an exchange`,
      `  Bank (EUR accounts, e-cash, cheques)  ${market.bankUrl}/bank`,
      `  Bank certificate (PEM)           ${join(market.dataDir, 'bank.pem')}`,
      `  Bank fingerprint (SHA-256)       ${await fingerprintOf(market.bankCertificate)}`,
      market.demoAccountCode
        ? `  Bank account code (${DEMO_SHOPPER_NAME}, 500.00 EUR)  ${market.demoAccountCode}  (one-time, 7 days; also in ${BANK_ACCOUNT_CODE_FILE}; POST /bank/accounts/open)`
        : `  Bank account (${DEMO_SHOPPER_NAME})  already opened`,
      `  Arbiter (complaints, verdicts)   ${market.arbiterUrl}/arbiter`,
      `  Arbiter certificate (PEM)        ${join(market.dataDir, 'arbiter.pem')}`,
      `  Arbiter fingerprint (SHA-256)    ${await fingerprintOf(market.arbiterCertificate)}`,
      `  Time-stamping authority (RFC 3161)  ${market.tsaUrl}/tsa  (POST application/timestamp-query)`,
      `  TSA certificate (PEM)            ${join(market.dataDir, 'tsa.pem')}`,
      `  TSA fingerprint (SHA-256)        ${await fingerprintOf(market.tsaCertificate)}`,
      `  Card acquirer (test cards tok_visa, tok_declined, tok_insufficient)  ${market.card.acquirerUrl}/v1`,
      `  Card adapter (popup → Settings → Card: this address + a test token)  ${market.card.adapterUrl}/card`,
      `  Exchanges (certified mail, contract signing)  ${market.shopUrl}/agreements`,
      `  Registration code (${DEMO_SHOPPER_NAME})  ${market.demoRegistrationCode}  (one-time, 7 days; also in registration-code.txt)`,
      `  Data directory                   ${market.dataDir}`,
      `  Extension build                  ${dist}  (chrome://extensions → Load unpacked)`,
      '',
      'Ctrl-C stops all servers.',
      '',
    ].join('\n'),
  );
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: shutting down`);
    // If a connection refuses to finish, do not hang forever.
    setTimeout(() => process.exit(1), 5000).unref();
    market.close().then(
      () => process.exit(0),
      (e: unknown) => {
        console.error(e);
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main().catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  });
}
