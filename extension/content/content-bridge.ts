/**
 * The content script's logic, free of `window` and `chrome` so it runs in unit tests:
 * page requests in, runtime-port messages out, and back. It survives a worker restart: when the
 * port drops it reconnects and re-attaches every request whose deal id it already knows, so the
 * page's promise still settles. A request whose deal id had not arrived yet is sent again with
 * the same random key: the worker may have stored the deal before it stopped, and the key finds
 * it (a new worker starts it otherwise). The page is never told "please retry" for a purchase that
 * may be under way: one request, one deal.
 */
import {
  CONTENT_TO_PAGE,
  PROVIDER_ERRORS,
  isPageRequest,
  isPortResponse,
  providerError,
  type PageResponseMessage,
  type PortRequest,
  type ProviderErrorShape,
} from './bridge-protocol.js';

export interface BridgePort {
  postMessage(message: PortRequest): void;
  onMessage(listener: (message: unknown) => void): void;
  onDisconnect(listener: () => void): void;
}

export interface BridgeHost {
  /** Open a runtime port to the worker; throws if the extension context is gone. */
  connect(): BridgePort;
  /** Deliver a response to the page's provider. */
  postToPage(message: PageResponseMessage): void;
  /** Schedule a reconnect attempt. */
  setTimeout(fn: () => void, ms: number): void;
  /** A fresh random key (at least 128 bits, base64url) for each page request. */
  randomKey(): string;
}

interface Pending {
  channel: string;
  pageId: string;
  /** What went to the worker: sent again as it is if the worker restarts before the deal id arrived. */
  message: Extract<PortRequest, { type: 'request' }>;
  dealId?: string;
}

/** A page may not flood the worker. */
export const MAX_PENDING = 8;
const RECONNECT_DELAYS = [50, 200, 500, 1000, 2000, 4000, 8000];

export class ContentBridge {
  private port: BridgePort | null = null;
  private readonly pending = new Map<string, Pending>();
  private counter = 0;
  private reconnectAttempt = 0;

  constructor(private readonly host: BridgeHost) {}

  get pendingCount(): number {
    return this.pending.size;
  }

  /** A window 'message' event; `fromPage` is `event.source === window`. */
  onPageMessage(data: unknown, fromPage: boolean): void {
    if (!fromPage || !isPageRequest(data)) return;
    if (this.pending.size >= MAX_PENDING) {
      this.reply(data.channel, data.id, providerError(PROVIDER_ERRORS.unauthorized, 'too many pending requests', 'ERR_PROTOCOL_STATE'));
      return;
    }
    const id = `c${++this.counter}`;
    const message: Extract<PortRequest, { type: 'request' }> = {
      type: 'request',
      id,
      method: data.method,
      ...(data.params === undefined ? {} : { params: data.params }),
      key: this.host.randomKey(),
    };
    this.pending.set(id, { channel: data.channel, pageId: data.id, message });
    this.send(message, id);
  }

  private ensurePort(): BridgePort {
    if (this.port) return this.port;
    const port = this.host.connect();
    port.onMessage((m) => this.onPortMessage(m));
    port.onDisconnect(() => this.onDisconnect(port));
    this.port = port;
    return port;
  }

  private send(message: PortRequest, id: string): void {
    try {
      this.ensurePort().postMessage(message);
    } catch {
      this.port = null;
      this.settle(id, providerError(PROVIDER_ERRORS.internal, 'the Semper extension is not available (reloaded or disabled)', 'ERR_INTERNAL'));
    }
  }

  private onPortMessage(message: unknown): void {
    if (!isPortResponse(message)) return;
    const entry = this.pending.get(message.id);
    if (!entry) return;
    this.reconnectAttempt = 0;
    switch (message.type) {
      case 'deal':
        entry.dealId = message.dealId;
        return;
      case 'result':
        this.pending.delete(message.id);
        this.host.postToPage({ type: CONTENT_TO_PAGE, channel: entry.channel, id: entry.pageId, ok: true, result: message.result });
        return;
      case 'error':
        this.settle(message.id, message.error);
        return;
    }
  }

  private onDisconnect(port: BridgePort): void {
    if (this.port !== port) return;
    this.port = null;
    if (this.pending.size === 0) return;
    // Every pending request goes on after the reconnect (reattach): none is failed here, since
    // the worker may have stored a deal for it before it stopped.
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.pending.size === 0) return;
    const delay = RECONNECT_DELAYS[this.reconnectAttempt];
    if (delay === undefined) {
      for (const id of [...this.pending.keys()])
        this.settle(id, providerError(PROVIDER_ERRORS.internal, 'lost the connection to the Semper extension', 'ERR_INTERNAL'));
      return;
    }
    this.reconnectAttempt++;
    this.host.setTimeout(() => this.reattach(), delay);
  }

  private reattach(): void {
    if (this.port || this.pending.size === 0) return;
    try {
      const port = this.ensurePort();
      for (const [id, entry] of this.pending) {
        port.postMessage(entry.dealId ? { type: 'attach', id, dealId: entry.dealId } : entry.message);
      }
    } catch {
      this.port = null;
      this.scheduleReconnect();
    }
  }

  private settle(id: string, error: ProviderErrorShape): void {
    const entry = this.pending.get(id);
    if (!entry) return;
    this.pending.delete(id);
    this.reply(entry.channel, entry.pageId, error);
  }

  private reply(channel: string, pageId: string, error: ProviderErrorShape): void {
    this.host.postToPage({ type: CONTENT_TO_PAGE, channel, id: pageId, ok: false, error });
  }
}
