/**
 * Exchange-deal fixtures for Node tests: a test CA, a certified merchant running the merchant
 * kit with exchange deals (real SQLite, controllable clock), a TTP service and app (no port), and
 * a shopper that drives the originator machine the way the extension's worker does. The kit
 * checks certificates against a CRL of the test CA, as the marketplace's does. Requests go
 * through `app.request` (no socket, so every caller is one client): the kit and the TTP get a
 * signed-statement limit no test reaches.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Hono } from 'hono';
import { generateKeyPair, signerFromKeyPair, type Signer } from '../../core/crypto/index.js';
import { randomId } from '../../core/encoding/index.js';
import type { TtpPolicy } from '../../core/commerce/ttp-policy.js';
import {
  agreedExchangeContext,
  agreedQuorum,
  confirmedItems,
  signFixedStatement,
  verifyExchangeDescriptor,
  type ExchangeCatalog,
  type ExchangeItems,
  type DescriptorBody,
  type ExchangeAgreement,
  type ExchangeTiming,
  type ExchangeUse,
  type TrustedTtpEntry,
  type VerifiedExchangeView,
} from '../../core/commerce/exchange-deal.js';
import type { ExchangeMerchantState } from '../../core/commerce/exchange-merchant.js';
import {
  isTerminal,
  startOriginator,
  stepExchange,
  type ExchangeContext,
  type ExchangeEvent,
  type ExchangeState,
  type StepResult,
} from '../../core/exchange/index.js';
import { cryptoRandom } from '../../core/machine.js';
import { createCrl, issueCertificate, readCertificate } from '../../core/pki/index.js';
import type { Statement } from '../../core/statements/index.js';
import {
  createMerchantKit,
  MERCHANT_DEALS_SCHEMA,
  SqliteMerchantDealStore,
  type ExchangeFaults,
  type MerchantKit,
  type StoredDeal,
} from '../../server/merchant/index.js';
import { crlRevocationSource } from '../../server/host/revocation.js';
import { shopExchangeCatalog } from '../../server/shop/exchange-uses.js';
import { SqliteStore } from '../../server/storage/sqlite.js';
import { createTtpApp, TtpService, type CertificateAuthorityLike } from '../../server/ttp/index.js';
import { makeTestCa, type TestCa } from './pki.js';

export const EX_ORIGIN = 'http://127.0.0.1:8451';
const UNLIMITED = 1_000_000;
export const FAST_TIMING: ExchangeTiming = { peerMs: 1_000, ttpRetryMs: 1_000, ttpMarginMs: 2_000, peerRetries: 1 };

export interface ExchangeWorld {
  ca: TestCa;
  clock: { now: number; advance(ms: number): void };
  merchant: { signer: Signer; chain: string[] };
  ttp: TtpService;
  ttpApp: Hono;
  ttpCertificate: string;
  ttpEntry: TrustedTtpEntry;
  /** The merchant kit, exchange deals only. */
  host: MerchantKit;
  faults: ExchangeFaults;
  /** TTP requests that reached the TTP app (from anyone). */
  ttpRequests: Statement[];
  /**
   * k-of-n (`options.quorum`): every TTP the merchant accepts, the first being `ttp`, each its own service, app,
   * database and address; with one TTP only that one.
   */
  ttps: { service: TtpService; app: Hono; url: string; entry: TrustedTtpEntry; requests: Statement[] }[];
  close(): Promise<void>;
}

/** A test CA as `TtpService.create` wants it: certificates (role ttp) for whatever key the TTP presents. */
export function ttpIssuer(ca: Pick<TestCa, 'root' | 'keys'>, validity: { notBefore: Date; notAfter: Date }): CertificateAuthorityLike {
  return {
    rootCertificate: ca.root,
    issue: (req) =>
      issueCertificate({
        issuerCertificate: ca.root,
        issuerPrivateKey: ca.keys.privateKey,
        subjectPublicKey: req.subjectPublicKey,
        commonName: req.commonName,
        role: 'ttp',
        ...validity,
      }),
  };
}

export async function makeExchangeWorld(
  options: { timing?: ExchangeTiming; terms?: string; catalog?: ExchangeCatalog; quorum?: { k: number; n: number } } = {},
): Promise<ExchangeWorld> {
  const start = Date.now();
  const clock = {
    now: start,
    advance(ms: number) {
      this.now += ms;
    },
  };
  const ca = await makeTestCa('Semper Exchange Test Root', start);
  const m = await ca.issue({ commonName: 'Fogra Forschungsgesellschaft Druck e.V.', role: 'merchant', origins: [EX_ORIGIN] });
  const dir = mkdtempSync(join(tmpdir(), 'semper-exchange-'));
  const ttp = await TtpService.create({
    ca: ttpIssuer(ca, { notBefore: new Date(start - 86_400_000), notAfter: new Date(start + 30 * 86_400_000) }),
    dbPath: join(dir, 'ttp.sqlite'),
    commonName: 'Semper Test TTP',
    clock: () => clock.now,
  });
  const ttpApp = createTtpApp(ttp, { signedStatementsPerMinute: UNLIMITED });
  const ttpRequests: Statement[] = [];
  const ttpCertificate = ttp.certificateChain[0]!;
  const info = await readCertificate(ttpCertificate);
  const ttps: ExchangeWorld['ttps'] = [
    {
      service: ttp,
      app: ttpApp,
      url: 'http://127.0.0.1:8452',
      entry: { fingerprint: info.fingerprint, keyId: ttp.keyId, url: 'http://127.0.0.1:8452' },
      requests: ttpRequests,
    },
  ];
  for (let i = 2; i <= (options.quorum?.n ?? 1); i++) {
    const service = await TtpService.create({
      ca: ttpIssuer(ca, { notBefore: new Date(start - 86_400_000), notAfter: new Date(start + 30 * 86_400_000) }),
      dbPath: join(dir, `ttp-${i}.sqlite`),
      commonName: `Semper Test TTP ${i}`,
      clock: () => clock.now,
    });
    const url = `http://127.0.0.1:${8452 + 10 * (i - 1)}`;
    const fingerprint = (await readCertificate(service.certificateChain[0]!)).fingerprint;
    ttps.push({
      service,
      app: createTtpApp(service, { signedStatementsPerMinute: UNLIMITED }),
      url,
      entry: { fingerprint, keyId: service.keyId, url },
      requests: [],
    });
  }
  // Each TTP at its own address: a request reaches the app of the TTP whose URL it was sent to.
  const ttpFetch: typeof fetch = async (input, init) => {
    const body = JSON.parse(String(init?.body)) as { request: Statement };
    const url = new URL(String(input instanceof Request ? input.url : input));
    const to = ttps.find((t) => t.url === url.origin);
    if (!to) throw new TypeError(`fetch failed: nothing listens at ${url.origin}`);
    to.requests.push(body.request);
    if (to.requests !== ttpRequests) ttpRequests.push(body.request);
    return to.app.request(url.pathname, init);
  };
  const store = SqliteStore.open({ dataDir: dir, fileName: 'shop.sqlite', schema: [MERCHANT_DEALS_SCHEMA] });
  // Nothing revoked; current for longer than any test moves the clock.
  const crl = await createCrl({
    issuerCertificate: ca.root,
    issuerPrivateKey: ca.keys.privateKey,
    entries: [],
    thisUpdate: new Date(start - 60_000),
    nextUpdate: new Date(start + 7 * 86_400_000),
    crlNumber: 1,
  });
  const faults: ExchangeFaults = {};
  const host = createMerchantKit({
    identity: { signer: m.signer, chain: m.chain, origin: EX_ORIGIN },
    deals: new SqliteMerchantDealStore(store, () => clock.now),
    exchanges: {
      catalog: options.catalog ?? shopExchangeCatalog(),
      ttp: { keyId: ttp.keyId, url: 'http://127.0.0.1:8452', certificateChain: ttp.certificateChain },
      ...(options.quorum
        ? { quorum: { k: options.quorum.k, ttps: ttps.map((t) => ({ keyId: t.service.keyId, url: t.url, certificateChain: t.service.certificateChain })) } }
        : {}),
      trustRoots: [ca.root],
      timing: options.timing ?? FAST_TIMING,
      ...(options.terms ? { terms: options.terms } : {}),
      faults,
      fetch: ttpFetch,
    },
    // As in the marketplace: certificates in what the merchant receives (the TTP's answers) are checked against the CA's CRL.
    revocation: crlRevocationSource({ issuerCertificate: ca.root, currentCrl: async () => crl }),
    signedStatementsPerMinute: UNLIMITED,
    now: () => clock.now,
  });
  return {
    ca,
    clock,
    merchant: m,
    ttp,
    ttpApp,
    ttpCertificate,
    ttpEntry: { fingerprint: info.fingerprint, keyId: ttp.keyId, url: 'http://127.0.0.1:8452' },
    host,
    faults,
    ttpRequests,
    ttps,
    async close() {
      await host.stop();
      store.close();
      for (const t of ttps) t.service.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function newShopper(): Promise<Signer> {
  return signerFromKeyPair('ES256', await generateKeyPair('ES256'));
}

/** The descriptor request as the worker sends it: no key of the shopper's (issue 8, item 6). */
export async function requestDescriptor(world: ExchangeWorld, use: ExchangeUse, documentId: string, ids = { dealId: randomId(16), nonce: randomId(32) }) {
  const res = await world.host.app.request('/semper/exchange/descriptor', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ dealId: ids.dealId, nonce: ids.nonce, use, documentId }),
  });
  return { status: res.status, body: (await res.json()) as { descriptor?: Statement<DescriptorBody>; error?: { code: string } }, ...ids };
}

/** A Node shopper: verifies the descriptor, signs its item, runs the originator against the host and the TTP app. */
export class NodeShopper {
  state!: ExchangeState;
  agreement!: ExchangeAgreement;
  view!: VerifiedExchangeView;
  /** What each side gives, derived at "confirmation" for this shopper's key. */
  items!: ExchangeItems;
  readonly archive: Statement[] = [];
  /** When false, messages to the merchant are lost (the shopper keeps its state). */
  deliverToPeer = true;
  /** When true, the TTP cannot be reached: every request fails as a network error would. */
  ttpDown = false;
  /** k-of-n: key ids of TTPs that cannot be reached (as `ttpDown`, for one TTP of the set). */
  readonly down = new Set<string>();

  constructor(
    private readonly world: ExchangeWorld,
    readonly signer: Signer,
    /** The shopper's guarantee policy and the TTPs it trusts (default: the world's first TTP, no policy). */
    private readonly trust: { ttps?: TrustedTtpEntry[]; policy?: TtpPolicy; tamper?: (agreement: ExchangeAgreement) => void } = {},
  ) {}

  ctx(): ExchangeContext {
    return agreedExchangeContext(this.agreement, { signer: this.signer, roots: [this.world.ca.root], random: cryptoRandom });
  }

  async start(use: ExchangeUse, documentId: string): Promise<void> {
    await this.apply(await this.propose(use, documentId));
  }

  /** Descriptor, verification, the shopper's item and the originator's start (m1), nothing sent yet. */
  async propose(use: ExchangeUse, documentId: string): Promise<StepResult> {
    const d = await requestDescriptor(this.world, use, documentId);
    if (!d.body.descriptor) throw new Error(`descriptor refused: ${JSON.stringify(d.body)}`);
    const verified = await verifyExchangeDescriptor(d.body, { dealId: d.dealId, nonce: d.nonce, origin: EX_ORIGIN, use, documentId }, this.world.clock.now, {
      roots: [this.world.ca.root],
      ttps: this.trust.ttps ?? [this.world.ttpEntry],
      ...(this.trust.policy ? { policy: this.trust.policy } : {}),
    });
    this.agreement = verified.agreement;
    // A cheating shopper (attack tests): what it puts in m1 after an honest verification.
    this.trust.tamper?.(this.agreement);
    this.view = verified.view;
    const a = this.agreement;
    this.items = confirmedItems(verified.descriptor, a, this.signer.keyId);
    const item = await signFixedStatement(this.items.shopperGives, a.dealId, this.signer, this.world.clock.now);
    const res = await startOriginator(
      {
        protocol: a.protocol,
        dealId: a.dealId,
        responder: { keyId: a.merchantKeyId },
        ttp: { keyId: a.ttp.keyId },
        ...(agreedQuorum(a) ? { quorum: agreedQuorum(a)! } : {}),
        gives: this.items.shopperGives,
        item,
        expects: this.items.merchantGives,
        ...(verified.descriptor.body.terms !== undefined ? { terms: verified.descriptor.body.terms } : {}),
        now: this.world.clock.now,
        timeouts: a.timeouts,
      },
      this.ctx(),
    );
    this.state = JSON.parse(JSON.stringify(res.state)) as ExchangeState;
    return res;
  }

  async event(e: ExchangeEvent): Promise<void> {
    await this.apply(await stepExchange(this.state, e, this.ctx()));
  }

  /** Fire the shopper's timer (advancing the clock to it) until it is done or `max` times. */
  async runTimers(max = 20): Promise<void> {
    for (let i = 0; i < max && !isTerminal(this.state) && this.state.wakeAt !== null; i++) {
      if (this.state.wakeAt > this.world.clock.now) this.world.clock.now = this.state.wakeAt;
      await this.event({ type: 'timeout', now: this.world.clock.now });
    }
  }

  private async apply(res: StepResult): Promise<void> {
    this.state = JSON.parse(JSON.stringify(res.state)) as ExchangeState;
    for (const e of res.effects) if (e.kind === 'archive') this.archive.push(e.statement);
    for (const o of res.send) {
      if (o.to === 'peer') {
        if (!this.deliverToPeer) continue;
        const { replies } = await postExchangeMessage(this.world, o.statement);
        for (const reply of replies) await this.event({ type: 'message', message: reply, now: this.world.clock.now, from: 'peer' });
      } else if (this.ttpDown || (o.ttp !== undefined && this.down.has(o.ttp))) {
        await this.event({ type: 'ttp-error', error: { code: 'ERR_INTERNAL', message: 'TTP unreachable' }, now: this.world.clock.now });
      } else {
        // The TTP the request is for, at the address the agreement (the shopper's own setting) names.
        const url = o.ttp === undefined ? this.agreement.ttp.url : this.agreement.quorum!.ttps.find((t) => t.keyId === o.ttp)!.url;
        const to = this.world.ttps.find((t) => t.url === url)!;
        to.requests.push(o.statement);
        if (to.requests !== this.world.ttpRequests) this.world.ttpRequests.push(o.statement);
        const r = await to.app.request('/ttp/requests', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ request: o.statement }),
        });
        const body = (await r.json()) as { answer?: Statement; error?: { code: string; message: string } };
        if (body.answer) await this.event({ type: 'message', message: body.answer, now: this.world.clock.now, from: 'ttp' });
        else await this.event({ type: 'ttp-error', error: body.error ?? { code: 'ERR_TTP', message: `HTTP ${r.status}` }, now: this.world.clock.now });
      }
    }
  }
}

/** POST one exchange message to the kit as a shopper would: the HTTP status and the replies (or the refusal). */
export async function postExchangeMessage(
  world: ExchangeWorld,
  message: unknown,
): Promise<{ status: number; replies: Statement[]; error?: { code: string; message: string } }> {
  const r = await world.host.app.request('/semper/exchange/messages', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ message }),
  });
  const body = (await r.json()) as { replies?: Statement[]; error?: { code: string; message: string } };
  return { status: r.status, replies: body.replies ?? [], ...(body.error ? { error: body.error } : {}) };
}

/** The merchant's side of an exchange deal, from the kit's operator route: its responder state, whether a test fault stopped it, its descriptor. */
export async function merchantExchange(
  world: ExchangeWorld,
  dealId: string,
): Promise<{ state: ExchangeState; stopped: boolean; descriptor: Statement<DescriptorBody> }> {
  const r = await world.host.app.request(`/semper/deals/${dealId}`);
  const deal = (await r.json()) as StoredDeal<ExchangeMerchantState>;
  if (deal.kind !== 'exchange' || deal.state.phase !== 'responding')
    throw new Error(`deal ${dealId} is not a merchant exchange under way: ${JSON.stringify(deal)}`);
  return { state: deal.state.responder, stopped: deal.halted, descriptor: deal.state.descriptor };
}

/**
 * Let the merchant's exchange run to its end: at most `rounds` times, advance the clock to its
 * next wake-up and run the kit's timers, waiting for the TTP requests under way.
 */
export async function runMerchantToEnd(world: ExchangeWorld, dealId: string, rounds = 10): Promise<void> {
  for (let i = 0; i < rounds; i++) {
    const m = await merchantExchange(world, dealId);
    if (m.state.phase === 'done') return;
    world.clock.now = Math.max(world.clock.now, m.state.wakeAt ?? world.clock.now);
    await world.host.tick();
    await world.host.stop();
  }
}
