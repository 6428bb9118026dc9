/**
 * One trusted window (the TINGUIN) at a time. Deals awaiting the user's confirmation form the
 * queue (oldest first, straight from the deal store, so the queue survives a worker restart);
 * the window currently shown is remembered in session storage. Closing the window is the user
 * declining the deal.
 */
import type { DealKind } from '../deals/records.js';
/** A deal as the window queue sees it: every kind shares one window, oldest first. */
export interface QueuedDeal {
  dealId: string;
  status: string;
  createdAt: number;
  kind: DealKind;
  /** The deal keeps its window open (awaiting the user, or showing progress: its kind says when). */
  holdsWindow: boolean;
}

/** Where the queue comes from (the deal store, through the host's registrations). */
export interface WindowQueueStore {
  get(dealId: string): Promise<QueuedDeal | undefined>;
  listActive(): Promise<QueuedDeal[]>;
}

export interface WindowHost {
  /** Open the trusted window for a deal; returns its window id. */
  open(dealId: string, kind: DealKind): Promise<number>;
  close(windowId: number): Promise<void>;
  exists(windowId: number): Promise<boolean>;
  focus(windowId: number): Promise<void>;
}

export interface CurrentWindow {
  dealId: string;
  windowId: number;
}

export interface SessionSlot {
  get(): Promise<CurrentWindow | undefined>;
  set(value: CurrentWindow | undefined): Promise<void>;
}

export interface TrustedWindowDeps {
  store: WindowQueueStore;
  windows: WindowHost;
  session: SessionSlot;
  /** The user closed the window of a deal still awaiting confirmation. */
  onUserClosed(dealId: string): void;
}

export class TrustedWindowManager {
  private chain: Promise<void> = Promise.resolve();

  constructor(private readonly deps: TrustedWindowDeps) {}

  private serial(fn: () => Promise<void>): Promise<void> {
    const run = this.chain.then(fn, fn);
    this.chain = run.catch(() => undefined);
    return run;
  }

  /** The window showing `dealId`, if any (for the trusted-window-only operations). */
  async current(): Promise<CurrentWindow | undefined> {
    await this.chain;
    return this.deps.session.get();
  }

  /** Show the next deal awaiting confirmation if no window is open. */
  pump(): Promise<void> {
    return this.serial(async () => {
      const current = await this.deps.session.get();
      if (current) {
        const record = await this.deps.store.get(current.dealId);
        const awaiting = record?.status === 'awaiting-confirmation';
        // After Confirm a purchase's window stays up (showing progress) until the deal ends.
        const stillWanted = record?.holdsWindow === true;
        if (await this.deps.windows.exists(current.windowId)) {
          if (stillWanted) {
            // Another deal queued behind it, or the worker restarted: bring the window forward.
            await this.deps.windows.focus(current.windowId).catch(() => undefined);
            return;
          }
          await this.deps.session.set(undefined);
          await this.deps.windows.close(current.windowId).catch(() => undefined);
        } else {
          await this.deps.session.set(undefined);
          // The window went away while the worker was not running: the user closed it.
          if (awaiting) {
            this.deps.onUserClosed(current.dealId);
            return;
          }
        }
      }
      const next = (await this.deps.store.listActive())
        .filter((d: QueuedDeal) => d.status === 'awaiting-confirmation')
        .sort((a, b) => a.createdAt - b.createdAt)[0];
      if (!next) return;
      const windowId = await this.deps.windows.open(next.dealId, next.kind);
      await this.deps.session.set({ dealId: next.dealId, windowId });
    });
  }

  /** A deal ended or moved on: close its window (without treating that as the user declining). */
  release(dealId: string): Promise<void> {
    return this.serial(async () => {
      const current = await this.deps.session.get();
      if (current?.dealId !== dealId) return;
      await this.deps.session.set(undefined);
      await this.deps.windows.close(current.windowId).catch(() => undefined);
    }).then(() => this.pump());
  }

  /** chrome.windows.onRemoved */
  windowRemoved(windowId: number): Promise<void> {
    return this.serial(async () => {
      const current = await this.deps.session.get();
      if (current?.windowId !== windowId) return;
      await this.deps.session.set(undefined);
      this.deps.onUserClosed(current.dealId);
    });
  }
}
