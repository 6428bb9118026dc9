/**
 * Bringing the trusted window forward (extension/worker/window-presentation.ts): the window is
 * told first and must answer that Confirm is disarmed before it is focused; it is told again after;
 * a window that does not answer is not focused at all.
 */
import { describe, expect, it } from 'vitest';
import {
  DEAL_CHANGED_MESSAGE,
  PRESENTED_MESSAGE,
  PRESENT_MESSAGE,
  WindowPresenter,
  isDealChangedMessage,
  isPresentMessage,
  type PresentPort,
} from '../../../extension/worker/window-presentation.js';

/** A port whose far end is a window: `answer` decides whether it acknowledges a 'before'. */
function windowPort(log: string[], answer: boolean): PresentPort {
  const listeners = new Set<(m: unknown) => void>();
  return {
    postMessage(message) {
      if (!isPresentMessage(message)) throw new Error('unexpected message');
      log.push(`window: ${message.stage}`);
      if (message.stage === 'before' && answer) {
        setTimeout(() => {
          for (const fn of [...listeners]) fn({ type: PRESENTED_MESSAGE, id: message.id });
        }, 5);
      }
    },
    onMessage: { addListener: (fn) => listeners.add(fn), removeListener: (fn) => listeners.delete(fn) },
  };
}

describe('WindowPresenter', () => {
  it('tells the window, waits for its answer, focuses, tells it again', async () => {
    const log: string[] = [];
    const presenter = new WindowPresenter(200);
    presenter.attach(7, windowPort(log, true));
    const shown = await presenter.present(7, async () => {
      log.push('focus');
    });
    expect(shown).toBe(true);
    expect(log).toEqual(['window: before', 'focus', 'window: after']);
  });

  it('does not focus a window that does not answer, or one it has no port for', async () => {
    const log: string[] = [];
    const presenter = new WindowPresenter(50);
    const port = windowPort(log, false);
    presenter.attach(7, port);
    expect(await presenter.present(7, async () => void log.push('focus'))).toBe(false);
    expect(log).toEqual(['window: before']);
    presenter.detach(7, port);
    expect(await presenter.present(7, async () => void log.push('focus'))).toBe(false);
    expect(await presenter.present(8, async () => void log.push('focus'))).toBe(false);
    expect(log).toEqual(['window: before']);
  });

  it('an answer to another presentation, or of another kind, does not count', async () => {
    const log: string[] = [];
    const listeners = new Set<(m: unknown) => void>();
    const presenter = new WindowPresenter(50);
    presenter.attach(1, {
      postMessage(message) {
        log.push(JSON.stringify(message));
        for (const fn of [...listeners]) {
          fn({ type: PRESENTED_MESSAGE, id: 'p999' });
          fn({ type: PRESENT_MESSAGE, id: (message as { id: string }).id, stage: 'before' });
          fn('ping');
        }
      },
      onMessage: { addListener: (fn) => listeners.add(fn), removeListener: (fn) => listeners.delete(fn) },
    });
    expect(await presenter.present(1, async () => void log.push('focus'))).toBe(false);
    expect(log).not.toContain('focus');
    expect(listeners.size).toBe(0);
  });
});

describe('WindowPresenter.dealChanged', () => {
  /** A port that records what reaches its window; `broken` throws like a port whose window went away. */
  const recordingPort = (seen: unknown[], broken = false): PresentPort => ({
    postMessage(message) {
      if (broken) throw new Error('Attempting to use a disconnected port object');
      seen.push(message);
    },
    onMessage: { addListener: () => undefined, removeListener: () => undefined },
  });

  it('tells every attached trusted window which deal changed, past a port that went away, and no detached one', () => {
    const a: unknown[] = [];
    const b: unknown[] = [];
    const gone: unknown[] = [];
    const presenter = new WindowPresenter();
    presenter.attach(1, recordingPort([], true));
    presenter.attach(1, recordingPort(a));
    presenter.attach(2, recordingPort(b));
    const detached = recordingPort(gone);
    presenter.attach(3, detached);
    presenter.detach(3, detached);
    presenter.dealChanged('deal-1');
    expect(a).toEqual([{ type: DEAL_CHANGED_MESSAGE, dealId: 'deal-1' }]);
    expect(b).toEqual([{ type: DEAL_CHANGED_MESSAGE, dealId: 'deal-1' }]);
    expect(gone).toEqual([]);
    expect(a.every(isDealChangedMessage)).toBe(true);
  });

  it('the window takes only a well-formed change message', () => {
    expect(isDealChangedMessage({ type: DEAL_CHANGED_MESSAGE, dealId: 'd' })).toBe(true);
    for (const m of [null, 'ping', { type: DEAL_CHANGED_MESSAGE }, { type: DEAL_CHANGED_MESSAGE, dealId: 7 }, { type: PRESENT_MESSAGE, dealId: 'd' }]) {
      expect(isDealChangedMessage(m)).toBe(false);
    }
  });
});
