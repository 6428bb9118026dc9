/**
 * The service worker's start script (issue 13, worker start). It registers every listener
 * synchronously at the top level, so Chrome can wake a stopped worker for the event, and answers
 * what the popup asks first when it opens (start-table.ts: the settings, the notices, the
 * history's pages) from the stores, with the same checks as every operation. Everything else goes
 * to the rest of the worker (main.ts), which it loads the first time an event needs it: in
 * Chromium with importScripts() of worker-main.js (a classic script, like this one, that takes the
 * modules both use from this script: scripts/classic-worker.ts), in Firefox's event page it is
 * already there (firefox-background.ts). So a first message after a cold start does not wait for
 * the deal machines, statements, certificates or the wallet.
 *
 * On every start, unfinished deals resume: when the stores hold an active deal or purse with
 * something to resume, the rest of the worker is loaded at once (main.ts resumes them when it is
 * evaluated; main-script.ts `startWorker`); otherwise the badge is recounted here.
 */
import { browser, type Runtime } from '../browser.js';
import { operationDispatcher } from '../operations/dispatcher.js';
import { startHandlers, type StartContext } from '../operations/handlers/start.js';
import { START_OPERATIONS, StartOperationMessage, type StartOperationName } from '../operations/start-table.js';
import { readTrustedWindowSession } from './trusted-window-session.js';
import { startWorker, WORKER_MAIN_SCRIPT, type WorkerMain } from './main-script.js';
import { badge, extensionBase, extensionId, log, purses, settings, store } from './services.js';

/** ServiceWorkerGlobalScope's (the extension's TypeScript settings have the DOM's globals, not a worker's). */
declare function importScripts(...urls: string[]): void;

/** The rest of the worker, loaded on first use (synchronously: a port's first message must find its listener). */
function workerMain(): WorkerMain {
  if (!globalThis.__semperWorkerMain) importScripts(WORKER_MAIN_SCRIPT);
  const main = globalThis.__semperWorkerMain;
  if (!main) throw new Error(`${WORKER_MAIN_SCRIPT} did not provide the worker`);
  return main;
}

// Chromium lets a service worker import a script after its installation only if it imported it while installing.
if (typeof importScripts === 'function') self.addEventListener('install', () => void workerMain());

const dispatchStart = operationDispatcher<StartOperationName, StartContext>({
  operations: START_OPERATIONS,
  message: StartOperationMessage,
  handlers: startHandlers,
});

function isStartOperation(message: unknown): boolean {
  if (typeof message !== 'object' || message === null) return false;
  const op = (message as { op?: unknown }).op;
  return typeof op === 'string' && Object.hasOwn(START_OPERATIONS, op);
}

browser.runtime.onMessage.addListener((message: unknown, sender: Runtime.MessageSender) => {
  if (!isStartOperation(message)) return workerMain().onMessage(message, sender);
  // The same checks as every operation (operations/dispatcher.ts); none of these is a deal-window operation.
  return dispatchStart(message, sender, {
    extensionId,
    extensionBase,
    currentWindow: async () => undefined,
    store,
    identity: settings,
  }).catch((e: unknown) => {
    log('operation', e);
    return { ok: false, error: { code: 'ERR_INTERNAL', message: 'operation failed' } };
  });
});
browser.runtime.onConnect.addListener((port) => workerMain().onConnect(port));
browser.alarms.onAlarm.addListener((alarm) => workerMain().onAlarm(alarm));
browser.windows.onRemoved.addListener((windowId) => {
  if (globalThis.__semperWorkerMain) return globalThis.__semperWorkerMain.onWindowRemoved(windowId);
  // Any window's closing wakes the worker; only the trusted window showing a deal is the rest of the worker's business.
  readTrustedWindowSession().then(
    (current) => current?.windowId === windowId && workerMain().onWindowRemoved(windowId),
    (e: unknown) => log('trusted window', e),
  );
});

// Worker start (install, browser start, or a wake-up after Chrome stopped an idle worker).
startWorker({
  listActive: async () => [...(await store.listActive()), ...(await purses.listActive())],
  loadMain: () => void workerMain(),
  refreshBadge: () => badge.refresh(),
}).catch((e: unknown) => log('resume', e));
