/**
 * Attack 8: a hostile merchant endpoint (or network) answering the worker's offer request with a
 * redirect to another origin, a huge body (declared or streamed), no answer at all, or a body
 * that never ends. Each must give the page a typed error, open no trusted window, and cost the
 * worker bounded memory and time (extension/merchant-http.ts: no redirects, MAX_RESPONSE_BYTES,
 * REQUEST_TIMEOUT_MS). The cases run side by side in separate tabs, each on its own origin,
 * so the suite waits for the timeout once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestCa } from '../helpers/pki.js';
import { launchExtension, pageResult, trustedWindows, type ExtensionHarness } from '../e2e/harness.js';
import { MAX_RESPONSE_BYTES, REQUEST_TIMEOUT_MS } from '../../extension/worker/http.js';
import {
  HUGE_BYTES,
  HUGE_PAUSE_AFTER_BYTES,
  HUGE_PAUSE_MS,
  HUGE_PIECE_BYTES,
  dealsOf,
  startAttackServer,
  type AttackServer,
  type OfferMode,
} from './helpers.js';

let harness: ExtensionHarness;
const servers = new Map<OfferMode, AttackServer>();
let redirectTarget: AttackServer;
let control: AttackServer;
const windowsSeen: string[] = [];

const MODES: OfferMode[] = ['redirect', 'huge-declared', 'huge-chunked', 'hang', 'drip'];

beforeAll(async () => {
  const ca = await makeTestCa('Attack Test Root');
  redirectTarget = await startAttackServer({ ca, legalName: 'Redirect Target' });
  control = await startAttackServer({ ca, legalName: 'Control Shop' });
  for (const mode of MODES) {
    const server = await startAttackServer({ ca });
    server.offerMode = mode;
    server.redirectTo = redirectTarget.url;
    servers.set(mode, server);
  }
  harness = await launchExtension();
  await harness.operation('settings.addRoot', { certificate: ca.root });
  harness.context.on('page', (p) => {
    if (p.url().startsWith(harness.url('trusted-window/'))) windowsSeen.push(p.url());
  });
});

afterAll(async () => {
  await harness?.close();
  for (const s of [...servers.values(), redirectTarget, control]) await s?.close();
});

describe('8. hostile merchant endpoint', () => {
  it('redirect, huge body, hang and endless body each end in a typed error, without a window, not before the request timeout', async () => {
    expect(HUGE_BYTES).toBeGreaterThan(20 * MAX_RESPONSE_BYTES);
    // The huge bodies pause just past the bound, for less than the request timeout (helpers.ts).
    expect(HUGE_PAUSE_AFTER_BYTES).toBe(MAX_RESPONSE_BYTES);
    expect(HUGE_PAUSE_MS).toBeLessThanOrEqual(REQUEST_TIMEOUT_MS / 2);
    const pages = new Map<OfferMode, Awaited<ReturnType<typeof harness.context.newPage>>>();
    // Each page's time is counted from its own click, not from the start of the loop: opening
    // the tabs one after the other takes seconds on a busy machine (measured up to 6 s before
    // the fourth click), which is no part of the worker's time bound.
    const clickedAt = new Map<OfferMode, number>();
    for (const mode of MODES) {
      const page = await harness.context.newPage();
      await page.goto(`${servers.get(mode)!.url}/`);
      clickedAt.set(mode, Date.now());
      await page.click('#buy');
      pages.set(mode, page);
    }
    const results = new Map<OfferMode, Awaited<ReturnType<typeof pageResult>> & { afterMs: number }>();
    await Promise.all(
      MODES.map(async (mode) => {
        const result = await pageResult(pages.get(mode)!, REQUEST_TIMEOUT_MS + 15_000);
        results.set(mode, { ...result, afterMs: Date.now() - clickedAt.get(mode)! });
      }),
    );

    // Redirect: refused, not followed — the other origin never heard of the request.
    expect(results.get('redirect')).toMatchObject({ status: 'error', code: '-32603', reason: 'ERR_INTERNAL' });
    expect(redirectTarget.requests.filter((r) => r.path.startsWith('/semper/'))).toEqual([]);
    expect(servers.get('redirect')!.requests.filter((r) => r.path === '/semper/offer')).toHaveLength(1);

    // Huge bodies: refused as malformed, and not read to the end: the worker stops reading
    // (and closes the connection) after the bound, whether or not the size was declared.
    // The server sends just over the bound, then holds the rest back for HUGE_PAUSE_MS: the
    // worker must close the connection during that pause, asking for nothing more. A worker that
    // read on (e.g. `await response.text()`) would keep the connection open through the pause and
    // be sent the rest (resumed, bytesSent up to HUGE_BYTES, finished). The count of bytes sent
    // without a pause is no measure of what the worker read: Chromium fetches the body ahead of
    // the worker's reads, so it depends on how soon the worker gets to its bound (helpers.ts).
    for (const mode of ['huge-declared', 'huge-chunked'] as const) {
      expect({ mode, result: results.get(mode) }).toMatchObject({ mode, result: { status: 'error', code: '4100', reason: 'ERR_SCHEMA' } });
      const stream = servers.get(mode)!.lastStream!;
      expect(stream).toBeDefined();
      await expect.poll(() => stream.clientClosed || stream.finished, { timeout: 10_000 }).toBe(true);
      expect({ mode, clientClosed: stream.clientClosed, finished: stream.finished, resumed: stream.resumed }).toEqual({
        mode,
        clientClosed: true,
        finished: false,
        resumed: false,
      });
      // At most the piece that took the body past the bound (less when the declared size is refused up front).
      expect(stream.bytesSent, `${mode}: bytes sent before the worker closed the connection`).toBeLessThanOrEqual(HUGE_PAUSE_AFTER_BYTES + HUGE_PIECE_BYTES);
    }

    // Hang and endless body: the request is abandoned at the timeout (not before, not never).
    for (const mode of ['hang', 'drip'] as const) {
      const result = results.get(mode)!;
      expect(result.status).toBe('error');
      // No answer: unreachable (-32603 ERR_INTERNAL); a body cut off by the timeout: not a JSON reply (4100 ERR_SCHEMA).
      if (mode === 'hang') expect(result).toMatchObject({ code: '-32603', reason: 'ERR_INTERNAL' });
      else expect(['4100', '-32603']).toContain(result.code);
      expect(result.reason).toMatch(/^ERR_/);
      // Not before the timeout. "Not never" is pageResult's wait above: a bound on how soon a loaded
      // machine gets there would be a timed assertion, which fails with the load, not with the worker.
      expect(result.afterMs).toBeGreaterThanOrEqual(REQUEST_TIMEOUT_MS - 1_000);
      expect(servers.get(mode)!.openHolds).toBe(0); // the worker closed the connection
    }
    expect(servers.get('drip')!.lastStream!.clientClosed).toBe(true);

    // No trusted window at any point; every deal failed with the reason the page was given.
    expect(windowsSeen).toEqual([]);
    expect(trustedWindows(harness)).toEqual([]);
    const deals = await dealsOf(harness);
    for (const mode of MODES) {
      const deal = deals.find((d) => d.origin === servers.get(mode)!.url);
      expect({ mode, status: deal?.status, code: deal?.error?.code, merchant: deal?.merchant }).toEqual({
        mode,
        status: 'failed',
        code: results.get(mode)!.reason,
        merchant: undefined,
      });
    }
    for (const page of pages.values()) await page.close();
  });

  it('control: after all that, a correct merchant still reaches the trusted window', async () => {
    const page = await harness.context.newPage();
    await page.goto(`${control.url}/`);
    await page.click('#buy');
    await expect.poll(() => trustedWindows(harness).length, { timeout: 20_000 }).toBe(1);
    const tw = trustedWindows(harness)[0]!;
    await expect.poll(() => tw.locator('#merchant-name').textContent()).toBe('Control Shop');
    await tw.close(); // closing declines
    expect(await pageResult(page)).toMatchObject({ status: 'error', code: '4001' });
    await page.close();
  });
});
