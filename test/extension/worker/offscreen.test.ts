/**
 * The worker's rarely used heavy code outside its start bundle (extension/worker/offscreen.ts,
 * extension/offscreen): one offscreen document at a time (Chromium refuses a second), closed when no
 * task is left; answers checked against the task's schema; only the worker is answered. The
 * import() path (Firefox) runs the real task.
 */
import { describe, expect, it } from 'vitest';
import { encodeBase64url } from '../../../core/encoding/index.js';
import { fromWorker, OFFSCREEN_TARGET } from '../../../extension/offscreen/protocol.js';
import { runTask } from '../../../extension/offscreen/tasks.js';
import { type OffscreenDocument, OffscreenTasks } from '../../../extension/worker/offscreen.js';

const args = { token: 'AAAA', digest: encodeBase64url(new Uint8Array(32)), roots: [], tsas: [] };
const trusted = { status: 'trusted', genTime: '2026-01-01T00:00:00.000Z', tsa: 'TSA', fingerprint: 'f'.repeat(64) } as const;

/** A fake document: records what happened; answers with `answer` once `release` is called. */
function fakeDocument(answer: (message: unknown) => unknown) {
  const log: string[] = [];
  let open = false;
  const pending: (() => void)[] = [];
  const document: OffscreenDocument = {
    async ensure() {
      if (open) return;
      log.push('create');
      open = true;
    },
    async close() {
      if (!open) throw new Error('no document');
      log.push('close');
      open = false;
    },
    send(message) {
      if (!open) return Promise.reject(new Error('Receiving end does not exist'));
      log.push('send');
      return new Promise((resolve) => pending.push(() => resolve(answer(message))));
    },
  };
  const release = () => {
    for (const p of pending.splice(0)) p();
  };
  return { document, log, release, isOpen: () => open, pending: () => pending.length };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

describe('OffscreenTasks', () => {
  it('opens one document for concurrent tasks and closes it once none is left', async () => {
    const fake = fakeDocument((message) => {
      expect(message).toEqual({ target: OFFSCREEN_TARGET, task: 'timestamp.check', args });
      return { ok: true, result: trusted };
    });
    const tasks = new OffscreenTasks({ document: fake.document, importTasks: () => Promise.reject(new Error('not this path')) });
    const both = Promise.all([tasks.run('timestamp.check', args), tasks.run('timestamp.check', args)]);
    while (fake.pending() < 2) await settle();
    expect(fake.isOpen()).toBe(true);
    fake.release();
    expect(await both).toEqual([trusted, trusted]);
    await settle();
    expect(fake.log).toEqual(['create', 'send', 'send', 'close']);
    // The next task opens it again.
    const again = tasks.run('timestamp.check', args);
    while (fake.pending() < 1) await settle();
    fake.release();
    expect(await again).toEqual(trusted);
    await settle();
    expect(fake.log.slice(4)).toEqual(['create', 'send', 'close']);
  });

  it('refuses an answer outside the protocol or outside the task result schema, and passes on a failed task', async () => {
    for (const [answer, message] of [
      [undefined, /did not answer the timestamp.check task/],
      [{ ok: true, result: { status: 'trusted', genTime: '2026-01-01T00:00:00.000Z' } }, /answered outside its schema/],
      [{ ok: true, result: { ...trusted, extra: 1 } }, /answered outside its schema/],
      [{ ok: false, error: { code: 'ERR_SCHEMA', message: 'bad args' } }, /timestamp.check task failed: ERR_SCHEMA: bad args/],
    ] as const) {
      const fake = fakeDocument(() => answer);
      const tasks = new OffscreenTasks({ document: fake.document, importTasks: () => Promise.reject(new Error('not this path')) });
      const run = tasks.run('timestamp.check', args);
      while (fake.pending() < 1) await settle();
      fake.release();
      await expect(run).rejects.toMatchObject({ code: 'ERR_INTERNAL', message: expect.stringMatching(message) });
      await settle();
      expect(fake.isOpen()).toBe(false);
    }
  });

  it('without an offscreen document, imports the tasks and runs the real check (Firefox)', async () => {
    let imported = 0;
    const tasks = new OffscreenTasks({
      importTasks: async () => {
        imported++;
        return { runTask };
      },
    });
    // Not a token: the check says invalid (it never throws for a bad token), through the result schema.
    expect(await tasks.run('timestamp.check', args)).toMatchObject({ status: 'invalid' });
    expect(imported).toBe(1);
    await expect(runTask('timestamp.check', { ...args, digest: 'not base64url!' })).rejects.toThrow();
  });
});

describe('fromWorker', () => {
  const id = 'abcdefghijklmnopabcdefghijklmnop';
  const workerUrl = `chrome-extension://${id}/service-worker-loader.js`;
  it('answers the extension service worker only', () => {
    expect(fromWorker({ id, url: workerUrl }, id, workerUrl)).toBe(true);
    // An extension page (popup, trusted window), a content script (has a tab), another extension, no worker URL.
    expect(fromWorker({ id, url: `chrome-extension://${id}/popup/index.html` }, id, workerUrl)).toBe(false);
    expect(fromWorker({ id, url: workerUrl, tab: { id: 1 } }, id, workerUrl)).toBe(false);
    expect(fromWorker({ id: 'other', url: workerUrl }, id, workerUrl)).toBe(false);
    expect(fromWorker({ id, url: workerUrl }, id, undefined)).toBe(false);
  });
});
