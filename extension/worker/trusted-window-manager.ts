/**
 * One trusted window (the TINGUIN) at a time. Deals awaiting the user's confirmation form the
 * queue (oldest first, straight from the deal store, so the queue survives a worker restart);
 * the window currently shown is remembered in session storage. Closing the window is the user
 * declining the deal.
 *
 * The open window is brought forward only when a deal joined the queue since it was last looked
 * at (the ids queued then are kept with the window in session storage): never because a page's
 * request failed or was refused, a deal ended, or the worker restarted (issue 8, item 10). And
 * bringing it forward goes through `WindowHost.focus`, which first has the window disarm Confirm
 * (worker/window-presentation.ts).
 *
 * A window whose deal the user confirmed in it (`keepForResult`) is not closed when the deal ends or
 * moves on: it shows the result (trusted-window/Result.tsx) until the user closes it, or until
 * another deal needs the one window — the result stays in the popup's history.
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
  /** Bring the window forward (the window disarms Confirm first; it may decline to be focused). */
  focus(windowId: number): Promise<void>;
}

export interface CurrentWindow {
  dealId: string;
  windowId: number;
  /**
   * The deals awaiting confirmation when the window was last opened or brought forward. Absent
   * (a record from an earlier version): every deal queued now counts as known.
   */
  queued?: string[];
  /** The user confirmed the deal in this window: it stays open on the result screen when the deal ends. */
  result?: boolean;
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

  /**
   * Show the next deal awaiting confirmation if no window is open; if one is, bring it forward
   * only if a deal joined the queue since it was last opened or brought forward.
   */
  pump(): Promise<void> {
    return this.serial(async () => {
      const awaiting = (await this.deps.store.listActive())
        .filter((d: QueuedDeal) => d.status === 'awaiting-confirmation')
        .sort((a, b) => a.createdAt - b.createdAt);
      const queued = awaiting.map((d) => d.dealId);
      const current = await this.deps.session.get();
      if (current) {
        const record = await this.deps.store.get(current.dealId);
        const isAwaiting = record?.status === 'awaiting-confirmation';
        // After Confirm a purchase's window stays up (showing progress) until the deal ends.
        const stillWanted = record?.holdsWindow === true;
        if (await this.deps.windows.exists(current.windowId)) {
          // A result on screen gives way only to a deal that needs the window.
          if (!stillWanted && current.result && awaiting.length === 0) return;
          if (stillWanted) {
            const known = new Set(current.queued ?? queued);
            const added = queued.some((id) => !known.has(id));
            await this.deps.session.set({ ...current, queued });
            // Another deal queued behind it: bring the window forward. Nothing new (a restart, a
            // request that failed or was refused, another deal that ended): leave it where it is.
            if (added) await this.deps.windows.focus(current.windowId).catch(() => undefined);
            return;
          }
          await this.deps.session.set(undefined);
          await this.deps.windows.close(current.windowId).catch(() => undefined);
        } else {
          await this.deps.session.set(undefined);
          // The window went away while the worker was not running: the user closed it.
          if (isAwaiting) {
            this.deps.onUserClosed(current.dealId);
            return;
          }
        }
      }
      const next = awaiting[0];
      if (!next) return;
      const windowId = await this.deps.windows.open(next.dealId, next.kind);
      await this.deps.session.set({ dealId: next.dealId, windowId, queued });
    });
  }

  /**
   * The user confirmed (`keep`) or declined the deal in its window: a confirmed deal's window stays
   * for its result when the deal ends; a declined one closes as before.
   */
  keepForResult(dealId: string, keep: boolean): Promise<void> {
    return this.serial(async () => {
      const current = await this.deps.session.get();
      if (current?.dealId !== dealId || (current.result ?? false) === keep) return;
      const { result: _r, ...rest } = current;
      await this.deps.session.set(keep ? { ...current, result: true } : rest);
    });
  }

  /** A deal ended or moved on: close its window (without treating that as the user declining), unless it shows the result. */
  release(dealId: string): Promise<void> {
    return this.serial(async () => {
      const current = await this.deps.session.get();
      if (current?.dealId !== dealId || current.result) return;
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
