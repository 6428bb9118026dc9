/**
 * The toolbar badge: how many deals await the user's decision in the trusted window, or "!" while
 * there are unread notices (requests that failed before any window: extension/notices). Recounted
 * from the stores on every queue change (so it survives worker restarts); empty at 0. Refreshes
 * are coalesced: a burst of changes costs one count and one write.
 */
export interface BadgeDeps {
  /** Deals awaiting the user (purchases awaiting confirmation; other kinds may add theirs). */
  count(): Promise<number>;
  /** Unread notices; shown as "!" when no deal awaits the user. */
  notices?(): Promise<number>;
  /** chrome.action.setBadgeText (and colour). */
  show(text: string): Promise<void>;
  onError?(e: unknown): void;
}

export function badgeText(count: number, notices = 0): string {
  if (count <= 0) return notices > 0 ? '!' : '';
  return count > 99 ? '99+' : String(count);
}

export class Badge {
  private running: Promise<void> | undefined;
  private again = false;
  private last: string | undefined;

  constructor(private readonly deps: BadgeDeps) {}

  /** Recount and show; resolves once a count taken after this call is shown. */
  refresh(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      do {
        this.again = false;
        try {
          const count = await this.deps.count();
          const text = badgeText(count, count > 0 || !this.deps.notices ? 0 : await this.deps.notices());
          if (text !== this.last) {
            await this.deps.show(text);
            this.last = text;
          }
        } catch (e) {
          this.deps.onError?.(e);
        }
      } while (this.again);
    })().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }
}
