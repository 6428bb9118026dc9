/**
 * Bringing the trusted window forward without presenting an armed Confirm (issue 8, item 10).
 *
 * The trusted window keeps a port to the worker open (trusted-window/main.tsx). Before the worker
 * focuses the window it tells the window over that port ('before'); the window disarms Confirm
 * and answers; only then the worker focuses it, and tells it again ('after'), and the window arms
 * Confirm CONFIRM_ARM_DELAY_MS after that, as at its first showing. A window that does not answer
 * in time is not focused at all: a click aimed at a page must never land on an armed Confirm that
 * popped up under it. (The window also disarms on its own focus, blur and visibility events, for
 * whatever brings it forward besides the worker.)
 *
 * No browser API here: the background wires it to runtime ports and windows.update.
 */

/**
 * Confirm only becomes clickable a moment after the trusted window is shown, so a click or key
 * press aimed at the page cannot land on it as the window pops up. The same holds every time the
 * window is shown again: focused, made visible, or brought forward by the worker.
 */
export const CONFIRM_ARM_DELAY_MS = 700;

export const PRESENT_MESSAGE = 'semper-present';
export const PRESENTED_MESSAGE = 'semper-presented';
/** How long the worker waits for the window to say it disarmed Confirm. */
export const PRESENT_ACK_TIMEOUT_MS = 500;

/** Worker → window. */
export interface PresentMessage {
  type: typeof PRESENT_MESSAGE;
  id: string;
  stage: 'before' | 'after';
}

/** Window → worker: Confirm is disarmed (the answer to a 'before'). */
export interface PresentedMessage {
  type: typeof PRESENTED_MESSAGE;
  id: string;
}

/**
 * Worker → every trusted window: a deal's record changed (the host persisted a step). The result
 * screen reloads its deal at once instead of asking on a timer; a window that missed the message
 * (the worker restarted in between) learns of it when its port connects again, and its slow
 * fallback poll covers the rest (trusted-window/Result.tsx).
 */
export const DEAL_CHANGED_MESSAGE = 'semper-deal-changed';

export interface DealChangedMessage {
  type: typeof DEAL_CHANGED_MESSAGE;
  dealId: string;
}

export function isDealChangedMessage(m: unknown): m is DealChangedMessage {
  const v = m as Partial<DealChangedMessage> | null;
  return typeof v === 'object' && v !== null && v.type === DEAL_CHANGED_MESSAGE && typeof v.dealId === 'string';
}

export function isPresentMessage(m: unknown): m is PresentMessage {
  const v = m as Partial<PresentMessage> | null;
  return typeof v === 'object' && v !== null && v.type === PRESENT_MESSAGE && typeof v.id === 'string' && (v.stage === 'before' || v.stage === 'after');
}

export function isPresentedMessage(m: unknown): m is PresentedMessage {
  const v = m as Partial<PresentedMessage> | null;
  return typeof v === 'object' && v !== null && v.type === PRESENTED_MESSAGE && typeof v.id === 'string';
}

/** What the presenter needs of a runtime port. */
export interface PresentPort {
  postMessage(message: unknown): void;
  onMessage: { addListener(fn: (message: unknown) => void): void; removeListener(fn: (message: unknown) => void): void };
}

export class WindowPresenter {
  private readonly ports = new Map<number, Set<PresentPort>>();
  private counter = 0;

  constructor(private readonly timeoutMs = PRESENT_ACK_TIMEOUT_MS) {}

  /** A trusted window's port connected (its window id from the port's sender). */
  attach(windowId: number, port: PresentPort): void {
    const set = this.ports.get(windowId) ?? new Set<PresentPort>();
    set.add(port);
    this.ports.set(windowId, set);
  }

  detach(windowId: number, port: PresentPort): void {
    const set = this.ports.get(windowId);
    set?.delete(port);
    if (set?.size === 0) this.ports.delete(windowId);
  }

  /** Tell every trusted window that `dealId` changed; each shows at most its own deal. */
  dealChanged(dealId: string): void {
    for (const set of this.ports.values()) {
      for (const port of set) {
        try {
          port.postMessage({ type: DEAL_CHANGED_MESSAGE, dealId } satisfies DealChangedMessage);
        } catch {
          // A port that went away: its window reconnects and reloads.
        }
      }
    }
  }

  /**
   * Tell window `windowId` it is about to be shown, wait until it disarmed Confirm, run `focus`,
   * then tell it it was shown. Resolves false (and does not focus) if no page of that window answered.
   */
  async present(windowId: number, focus: () => Promise<void>): Promise<boolean> {
    const ports = [...(this.ports.get(windowId) ?? [])];
    if (ports.length === 0) return false;
    const id = `p${++this.counter}`;
    const answered = await new Promise<boolean>((resolve) => {
      const listeners: [PresentPort, (m: unknown) => void][] = [];
      const done = (ok: boolean) => {
        clearTimeout(timer);
        for (const [port, fn] of listeners) port.onMessage.removeListener(fn);
        resolve(ok);
      };
      const timer = setTimeout(() => done(false), this.timeoutMs);
      for (const port of ports) {
        const fn = (m: unknown) => {
          if (isPresentedMessage(m) && m.id === id) done(true);
        };
        port.onMessage.addListener(fn);
        listeners.push([port, fn]);
        try {
          port.postMessage({ type: PRESENT_MESSAGE, id, stage: 'before' } satisfies PresentMessage);
        } catch {
          // A port that went away: the others may still answer.
        }
      }
    });
    if (!answered) return false;
    await focus();
    for (const port of ports) {
      try {
        port.postMessage({ type: PRESENT_MESSAGE, id, stage: 'after' } satisfies PresentMessage);
      } catch {
        // ignore: the window went away
      }
    }
    return true;
  }
}
