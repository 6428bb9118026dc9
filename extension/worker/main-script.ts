/**
 * The seam between the service worker's start script (background.ts) and the rest of the worker
 * (main.ts): main.ts hands its event handlers over on the global scope when it is evaluated. In
 * Chromium it is a second classic script, `worker-main.js` (scripts/classic-worker.ts), imported
 * with importScripts() the first time an event needs it; Firefox's event page imports it first.
 */
import type { Alarms, Runtime } from '../browser.js';

/** What the start script forwards to the rest of the worker. */
export interface WorkerMain {
  onMessage(message: unknown, sender: Runtime.MessageSender): Promise<unknown>;
  onConnect(port: Runtime.Port): void;
  onAlarm(alarm: Alarms.Alarm): void;
  onWindowRemoved(windowId: number): void;
}

/** The script the Chromium build writes main.ts into, beside service-worker.js. */
export const WORKER_MAIN_SCRIPT = 'worker-main.js';

declare global {
  var __semperWorkerMain: WorkerMain | undefined;
}

export function provideWorkerMain(main: WorkerMain): void {
  globalThis.__semperWorkerMain = main;
}

export interface StartDeps {
  /** The deals and purses not yet ended, as stored (`idle`: worker/host.ts idleAtStart, written with every step). */
  listActive(): Promise<readonly { idle?: boolean }[]>;
  /** Load the rest of the worker: main.ts resumes unfinished deals and recounts the badge when it is evaluated. */
  loadMain(): void;
  refreshBadge(): Promise<void>;
}

/**
 * What a worker start does before any event asks for more (background.ts): with an unfinished deal
 * or purse that has something to resume (a timer, a send to redo, an offer awaiting the user; a
 * record from before `idle` was stored counts as one), the rest of the worker is loaded at once so
 * it resumes, whatever woke the worker; otherwise only the badge is recounted.
 */
export async function startWorker(deps: StartDeps): Promise<'resumed' | 'idle'> {
  let active: readonly { idle?: boolean }[];
  try {
    active = await deps.listActive();
  } catch (e) {
    // Unknown: the rest of the worker resumes what it can (and reports what it cannot).
    deps.loadMain();
    throw e;
  }
  if (active.some((record) => record.idle !== true)) {
    deps.loadMain();
    return 'resumed';
  }
  await deps.refreshBadge();
  return 'idle';
}
