/**
 * A worker start (extension/worker/main-script.ts, background.ts): unfinished deals resume on
 * every start, whatever event woke the worker, so an active deal loads the rest of the worker at
 * once; a start with none loads nothing more and recounts the badge.
 */
import { describe, expect, it } from 'vitest';
import { startWorker } from '../../../extension/worker/main-script.js';

function start(active: { idle?: boolean }[]) {
  const calls: string[] = [];
  const run = startWorker({
    listActive: async () => active,
    loadMain: () => void calls.push('main'),
    refreshBadge: async () => void calls.push('badge'),
  });
  return { run, calls };
}

describe('a worker start', () => {
  it('with an unfinished deal that has something to resume loads the rest of the worker, which resumes it', async () => {
    const { run, calls } = start([{ idle: true }, { idle: false }]);
    expect(await run).toBe('resumed');
    expect(calls).toEqual(['main']);
  });

  it('with a record from before `idle` was stored loads it too', async () => {
    const { run, calls } = start([{}]);
    expect(await run).toBe('resumed');
    expect(calls).toEqual(['main']);
  });

  it('with only idle records (a purse between operations) recounts the badge and loads nothing more', async () => {
    const { run, calls } = start([{ idle: true }, { idle: true }]);
    expect(await run).toBe('idle');
    expect(calls).toEqual(['badge']);
  });

  it('with none recounts the badge and loads nothing more', async () => {
    const { run, calls } = start([]);
    expect(await run).toBe('idle');
    expect(calls).toEqual(['badge']);
  });

  it('that cannot read the store loads the rest of the worker anyway, and fails loudly (the caller logs it)', async () => {
    const calls: string[] = [];
    await expect(
      startWorker({
        listActive: () => Promise.reject(new Error('idb closed')),
        loadMain: () => void calls.push('main'),
        refreshBadge: async () => void calls.push('badge'),
      }),
    ).rejects.toThrow('idb closed');
    expect(calls).toEqual(['main']);
  });
});
