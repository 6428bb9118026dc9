/**
 * The operations the service worker's start script answers (extension/operations/start-table.ts,
 * handlers/start.ts, extension/worker/background.ts): the same entries of the one table, the same
 * checks (dispatcher.ts), and the same answers as the whole worker's dispatcher gives.
 */
import { describe, expect, it } from 'vitest';
import { MemoryDealStore } from '../../../extension/deals/records.js';
import { operationDispatcher } from '../../../extension/operations/dispatcher.js';
import { startHandlers, type StartContext } from '../../../extension/operations/handlers/start.js';
import { START_OPERATIONS, StartOperationMessage, type StartOperationName } from '../../../extension/operations/start-table.js';
import { OPERATIONS } from '../../../extension/operations/table.js';
import { handleOperation, type DispatchDeps } from '../../../extension/operations/dispatch.js';
import { MemorySettingsRecords } from '../../../extension/identity/service.js';
import { SettingsReader } from '../../../extension/identity/settings-view.js';
import { BASE, EXT_ID, deal } from '../fixtures.js';

const POPUP = { id: EXT_ID, url: `${BASE}popup/index.html` };
const dispatchStart = operationDispatcher<StartOperationName, StartContext>({
  operations: START_OPERATIONS,
  message: StartOperationMessage,
  handlers: startHandlers,
});

async function startDeps() {
  const store = new MemoryDealStore();
  await store.create(deal('completed', { createdAt: 1_000, updatedAt: 1_000 }));
  // Failed before any window (no verified view) after the notices were last read: one unseen notice.
  await store.create(
    deal('failed', { createdAt: 2_000, updatedAt: 2_000, result: { kind: 'failed', error: { code: 'ERR_CERT_UNTRUSTED', message: 'no trusted root' } } }),
  );
  const records = new MemorySettingsRecords();
  await records.put({ caUrl: 'https://ca.example/', noticesSeenAt: 1_500 });
  return { extensionId: EXT_ID, extensionBase: BASE, currentWindow: async () => undefined, store, identity: new SettingsReader(records, false) };
}

describe("the start script's operations", () => {
  it('are entries of the one table, open to Semper pages, none tied to a deal window', () => {
    expect(Object.keys(START_OPERATIONS).sort()).toEqual(['history.search', 'listDeals', 'listExchanges', 'listFairPurchases', 'notices.list', 'settings.get']);
    for (const op of Object.keys(START_OPERATIONS) as StartOperationName[]) {
      expect(OPERATIONS[op]).toBe(START_OPERATIONS[op]);
      expect(START_OPERATIONS[op].access).toBe('page');
    }
  });

  it('are refused to web pages, other extensions, unknown operations and malformed requests, with the same errors as every operation', async () => {
    const deps = await startDeps();
    const settingsGet = { op: 'settings.get', request: {} };
    expect(await dispatchStart(settingsGet, { id: EXT_ID, url: 'https://shop.example/' }, deps)).toMatchObject({ ok: false, error: { code: 'ERR_FORBIDDEN' } });
    expect(await dispatchStart(settingsGet, { id: 'other', url: `${BASE}popup/index.html` }, deps)).toMatchObject({
      ok: false,
      error: { code: 'ERR_FORBIDDEN' },
    });
    // An operation of the whole table is not the start script's: it forwards those before dispatching (background.ts).
    expect(await dispatchStart({ op: 'getDeal', request: { dealId: 'deal-0001-abcdefghijkl' } }, POPUP, deps)).toMatchObject({
      ok: false,
      error: { code: 'ERR_SCHEMA' },
    });
    expect(await dispatchStart({ op: 'settings.get', request: { extra: 1 } }, POPUP, deps)).toMatchObject({ ok: false, error: { code: 'ERR_SCHEMA' } });
    expect(await dispatchStart({ op: 'history.search', request: { limit: 0 } }, POPUP, deps)).toMatchObject({
      ok: false,
      error: { code: 'ERR_SCHEMA', message: expect.stringMatching(/^history\.search: limit: /) },
    });
  });

  it('answer what the whole worker answers', async () => {
    const deps = await startDeps();
    // The whole worker's identity service reads the same settings record the same way.
    const whole = { ...deps, identity: deps.identity } as unknown as DispatchDeps;
    for (const message of [
      { op: 'settings.get', request: {} },
      { op: 'notices.list', request: {} },
      { op: 'history.search', request: {} },
      { op: 'history.search', request: { status: 'failed' } },
      { op: 'history.search', request: { limit: 1 } },
      { op: 'listDeals', request: {} },
      { op: 'listDeals', request: { limit: 1 } },
      { op: 'listExchanges', request: {} },
      { op: 'listFairPurchases', request: {} },
    ]) {
      const answer = await dispatchStart(message, POPUP, deps);
      expect(answer.ok, JSON.stringify(answer)).toBe(true);
      expect(await handleOperation(message, POPUP, whole)).toEqual(answer);
    }
    expect(await dispatchStart({ op: 'settings.get', request: {} }, POPUP, deps)).toEqual({
      ok: true,
      response: { caUrl: 'https://ca.example/', hardwareTokenAbove: { amount: 10_000, currency: 'EUR' } },
    });
    expect(await dispatchStart({ op: 'notices.list', request: {} }, POPUP, deps)).toMatchObject({ ok: true, response: { unseen: 1 } });
    expect(await dispatchStart({ op: 'listDeals', request: { limit: 1 } }, POPUP, deps)).toMatchObject({
      ok: true,
      response: { deals: [{ status: 'failed' }], next: {} },
    });
  });
});
