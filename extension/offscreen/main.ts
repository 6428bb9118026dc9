/**
 * The offscreen document (Chromium): runs the worker's rarely used heavy tasks (protocol.ts) so
 * their code is not in the worker's start bundle. It answers the service worker only — every
 * extension page and content script's runtime messages reach this document too, and it ignores
 * them (it returns nothing, so it never answers in another listener's place). Offscreen documents
 * get only part of chrome.runtime (no getManifest), so this uses it directly rather than
 * webextension-polyfill, and reads the worker's address from the packaged manifest.json.
 */
import { z } from '../../core/zod.js';
import { errorToJson, SemperError } from '../../core/errors.js';
import { fromWorker, OFFSCREEN_TARGET, TaskRequest, type TaskResponse } from './protocol.js';
import { runTask } from './tasks.js';

const WorkerManifest = z.looseObject({ background: z.looseObject({ service_worker: z.string().check(z.minLength(1)) }) });
const workerUrl: Promise<string | undefined> = fetch(chrome.runtime.getURL('manifest.json'))
  .then((r) => r.json())
  .then((m: unknown) => {
    const parsed = WorkerManifest.safeParse(m);
    return parsed.success ? chrome.runtime.getURL(parsed.data.background.service_worker) : undefined;
  })
  .catch(() => undefined);

chrome.runtime.onMessage.addListener((message: unknown, sender, sendResponse) => {
  const request = TaskRequest.safeParse(message);
  // Decided synchronously (the listener's return value says whether it answers): a task request
  // from this extension outside any tab; whether it is the worker itself is checked before running.
  if (!request.success || request.data.target !== OFFSCREEN_TARGET || sender.id !== chrome.runtime.id || sender.tab) return undefined;
  workerUrl
    .then((url) => {
      if (!fromWorker(sender, chrome.runtime.id, url)) throw new SemperError('ERR_FORBIDDEN', 'tasks are run for the service worker only');
      return runTask(request.data.task, request.data.args);
    })
    .then(
      (result) => sendResponse({ ok: true, result } satisfies TaskResponse),
      (e: unknown) => {
        const { code, message: text } = errorToJson(e);
        sendResponse({ ok: false, error: { code, message: text } } satisfies TaskResponse);
      },
    );
  return true;
});
