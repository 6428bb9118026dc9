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
