/**
 * The worker's side of the page bridge (it runs in the worker; the other side is content.iife.ts): runtime ports from content scripts. The requesting
 * origin comes only from the port's sender (the browser), purchases only from top-level frames.
 * Each page request is attached to its deal; when the deal ends, every attached port is told.
 * After a worker restart the content script reconnects and re-attaches by deal id, or, for a
 * request whose deal id it had not heard yet, sends the request again with the same random key:
 * the host finds the deal that request started (or starts it now) — one request, one deal.
 */
import { errorToJson, isSemperError } from '../../core/errors.js';
import { PROVIDER_ERRORS, providerError, type PortResponse, type ProviderErrorShape } from './bridge-protocol.js';
import type { DealResult } from '../deals/records.js';
import { PROVIDER_METHODS, PortRequestSchema, parseProviderRequest } from './port-protocol.js';
import { pageOriginOf } from '../worker/sender.js';
import type { RequestedItem } from '../../core/protocol/commerce.js';
import type { ExchangeUse } from '../../core/commerce/exchange-deal.js';

/** A deal a page request waits for, of any kind (all settle the same way). */
export interface SettleableDeal {
  dealId: string;
  origin: string;
  result?: DealResult;
}

export interface PortLike {
  readonly name: string;
  readonly sender?: chrome.runtime.MessageSender | undefined;
  postMessage(message: PortResponse): void;
  onMessage: { addListener(listener: (message: unknown) => void): void };
  onDisconnect: { addListener(listener: () => void): void };
  disconnect(): void;
}

export interface PagePortsDeps {
  extensionId: string;
  version: string;
  /** `requestKey`: the page request's random key; the same key again gets the deal it started (worker/host.ts start). */
  startPurchase(origin: string, items: RequestedItem[], requestKey?: string): Promise<SettleableDeal>;
  /** Certified mail / contract signing (absent: the methods are refused as unsupported). */
  startExchange?(origin: string, use: ExchangeUse, documentId: string, requestKey?: string): Promise<SettleableDeal>;
  /** A fair purchase: goods for money (absent: the method is refused as unsupported). */
  startFairPurchase?(origin: string, sku: string, requestKey?: string): Promise<SettleableDeal>;
  getDeal(dealId: string): Promise<SettleableDeal | undefined>;
  onError?(e: unknown): void;
}

interface Attachment {
  port: PortLike;
  id: string;
  dealId: string;
}

/** How a finished deal answers the page: the outcome, or a provider error naming the reason. */
export function settlementOf(result: DealResult): { ok: true; result: unknown } | { ok: false; error: ProviderErrorShape } {
  switch (result.kind) {
    case 'finished':
      return { ok: true, result: result.outcome };
    case 'rejected':
      return { ok: false, error: providerError(PROVIDER_ERRORS.userRejected, 'the shopper declined', 'ERR_USER_REJECTED') };
    case 'failed':
      return {
        ok: false,
        error:
          result.error.code === 'ERR_INTERNAL'
            ? providerError(PROVIDER_ERRORS.internal, result.error.message, result.error.code)
            : providerError(PROVIDER_ERRORS.unauthorized, result.error.message, result.error.code),
      };
  }
}

export class PagePorts {
  private readonly attachments = new Map<string, Set<Attachment>>();

  constructor(private readonly deps: PagePortsDeps) {}

  connect(port: PortLike): void {
    const sender = port.sender;
    const origin = sender ? pageOriginOf(sender) : undefined;
    // Only this extension's content scripts can connect (no externally_connectable); check anyway.
    if (!sender || sender.id !== this.deps.extensionId || !origin || sender.tab === undefined) {
      port.disconnect();
      return;
    }
    const topLevel = sender.frameId === 0;
    const mine = new Set<Attachment>();
    port.onDisconnect.addListener(() => {
      for (const a of mine) this.attachments.get(a.dealId)?.delete(a);
      mine.clear();
    });
    port.onMessage.addListener((raw) => {
      void this.onMessage(port, origin, topLevel, mine, raw).catch((e: unknown) => this.deps.onError?.(e));
    });
  }

  private async onMessage(port: PortLike, origin: string, topLevel: boolean, mine: Set<Attachment>, raw: unknown): Promise<void> {
    const parsed = PortRequestSchema.safeParse(raw);
    if (!parsed.success) {
      const id = typeof raw === 'object' && raw !== null && 'id' in raw ? (raw as { id: unknown }).id : undefined;
      if (typeof id === 'string' && /^[A-Za-z0-9_-]{1,64}$/.test(id)) {
        this.post(port, { type: 'error', id, error: providerError(PROVIDER_ERRORS.invalidParams, 'malformed request', 'ERR_SCHEMA') });
      }
      return;
    }
    const message = parsed.data;
    if (message.type === 'attach') {
      const record = await this.deps.getDeal(message.dealId);
      // A page may only re-attach to deals of its own origin.
      if (!record || record.origin !== origin) {
        this.post(port, { type: 'error', id: message.id, error: providerError(PROVIDER_ERRORS.unauthorized, 'unknown deal', 'ERR_NOT_FOUND') });
        return;
      }
      await this.attach(port, message.id, record, mine);
      return;
    }
    const request = parseProviderRequest(message.method, message.params);
    if (!request.ok) {
      this.post(port, { type: 'error', id: message.id, error: request.error });
      return;
    }
    switch (request.request.method) {
      case 'semper_getInfo':
        this.post(port, { type: 'result', id: message.id, result: { name: 'Semper', version: this.deps.version, methods: [...PROVIDER_METHODS] } });
        return;
      case 'semper_purchase': {
        if (!topLevel) {
          this.post(port, {
            type: 'error',
            id: message.id,
            error: providerError(PROVIDER_ERRORS.unauthorized, 'only a top-level page may request a purchase', 'ERR_PROTOCOL_STATE'),
          });
          return;
        }
        const items = request.request.params.items;
        await this.startDeal(port, message.id, mine, () => this.deps.startPurchase(origin, items, message.key));
        return;
      }
      case 'semper_certifiedMail':
      case 'semper_signContract': {
        const startExchange = this.deps.startExchange;
        if (!topLevel || !startExchange) {
          this.post(port, {
            type: 'error',
            id: message.id,
            error: startExchange
              ? providerError(PROVIDER_ERRORS.unauthorized, 'only a top-level page may request an exchange', 'ERR_PROTOCOL_STATE')
              : providerError(PROVIDER_ERRORS.unsupportedMethod, `unsupported method ${request.request.method}`, 'ERR_SCHEMA'),
          });
          return;
        }
        const r = request.request;
        const [use, documentId] =
          r.method === 'semper_certifiedMail' ? (['certified-mail', r.params.documentId] as const) : (['contract-signing', r.params.contractId] as const);
        await this.startDeal(port, message.id, mine, () => startExchange(origin, use, documentId, message.key));
        return;
      }
      case 'semper_buyFair': {
        const startFair = this.deps.startFairPurchase;
        if (!topLevel || !startFair) {
          this.post(port, {
            type: 'error',
            id: message.id,
            error: startFair
              ? providerError(PROVIDER_ERRORS.unauthorized, 'only a top-level page may request a purchase', 'ERR_PROTOCOL_STATE')
              : providerError(PROVIDER_ERRORS.unsupportedMethod, `unsupported method ${request.request.method}`, 'ERR_SCHEMA'),
          });
          return;
        }
        const sku = request.request.params.sku;
        await this.startDeal(port, message.id, mine, () => startFair(origin, sku, message.key));
        return;
      }
    }
  }

  private async startDeal(port: PortLike, id: string, mine: Set<Attachment>, start: () => Promise<SettleableDeal>): Promise<void> {
    let record: SettleableDeal;
    try {
      record = await start();
    } catch (e) {
      const { code, message: text } = errorToJson(e);
      const providerCode = isSemperError(e) && code !== 'ERR_INTERNAL' ? PROVIDER_ERRORS.unauthorized : PROVIDER_ERRORS.internal;
      this.post(port, { type: 'error', id, error: providerError(providerCode, text, code) });
      return;
    }
    this.post(port, { type: 'deal', id, dealId: record.dealId });
    await this.attach(port, id, record, mine);
  }

  private async attach(port: PortLike, id: string, record: SettleableDeal, mine: Set<Attachment>): Promise<void> {
    if (record.result) {
      this.answer({ port, id, dealId: record.dealId }, record.result);
      return;
    }
    const a: Attachment = { port, id, dealId: record.dealId };
    let set = this.attachments.get(record.dealId);
    if (!set) {
      set = new Set();
      this.attachments.set(record.dealId, set);
    }
    set.add(a);
    mine.add(a);
    // The deal may have ended between reading `record` and attaching: look again.
    const latest = await this.deps.getDeal(record.dealId);
    if (latest?.result) this.settle(latest);
  }

  /** The deal ended: answer every page request waiting for it. */
  settle(record: SettleableDeal): void {
    if (!record.result) return;
    const set = this.attachments.get(record.dealId);
    if (!set) return;
    this.attachments.delete(record.dealId);
    for (const a of set) this.answer(a, record.result);
  }

  private answer(a: Attachment, result: DealResult): void {
    const s = settlementOf(result);
    this.post(a.port, s.ok ? { type: 'result', id: a.id, result: s.result } : { type: 'error', id: a.id, error: s.error });
  }

  private post(port: PortLike, message: PortResponse): void {
    try {
      port.postMessage(message);
    } catch {
      // The page went away; its deal carries on and stays in the archive.
    }
  }
}
