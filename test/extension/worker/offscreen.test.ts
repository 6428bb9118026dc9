/**
 * The worker's rarely used heavy code outside its start bundle (extension/worker/offscreen.ts,
 * extension/offscreen): one offscreen document at a time (Chromium refuses a second), closed when no
 * task is left; answers checked against the task's schema; only the worker is answered. The
 * import() path (Firefox) runs the real task. @simplewebauthn/server as offscreen tasks (token
 * registration, unusual assertions) gives the library's own outcome: the same checks named.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createWebAuthnVerifier, useWebAuthnLibrary, verifyRegistration } from '../../../core/crypto/webauthn.js';
import { encodeBase64url } from '../../../core/encoding/index.js';
import { verifyStatement } from '../../../core/statements/index.js';
import { fromWorker, OFFSCREEN_TARGET, TASKS } from '../../../extension/offscreen/protocol.js';
import { runTask } from '../../../extension/offscreen/tasks.js';
import { type OffscreenDocument, OffscreenTasks, offscreenWebAuthnLibrary } from '../../../extension/worker/offscreen.js';
import { FLAG_UP, SoftAuthenticator } from '../../helpers/soft-authenticator.js';
import { jwkThumbprint } from '../../../core/crypto/jwk.js';
import { verifyCoin } from '../../../core/payment/cash/coin.js';
import { importDenominationKey, type VerifiedDenomination } from '../../../core/payment/cash/denominations.js';
import { offscreenCash } from '../../../extension/wallet/cash-tasks.js';
import { fixtureDenomination } from '../../core/payment/helpers.js';

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
  const workerUrl = `chrome-extension://${id}/service-worker.js`;
  it('answers the extension service worker only', () => {
    expect(fromWorker({ id, url: workerUrl }, id, workerUrl)).toBe(true);
    // An extension page (popup, trusted window), a content script (has a tab), another extension, no worker URL.
    expect(fromWorker({ id, url: `chrome-extension://${id}/popup/index.html` }, id, workerUrl)).toBe(false);
    expect(fromWorker({ id, url: workerUrl, tab: { id: 1 } }, id, workerUrl)).toBe(false);
    expect(fromWorker({ id: 'other', url: workerUrl }, id, workerUrl)).toBe(false);
    expect(fromWorker({ id, url: workerUrl }, id, undefined)).toBe(false);
  });
});

describe("the tasks' schemas", () => {
  it('are built once, on first use (not at every worker start), and check as before', () => {
    const blind = TASKS['cash.blind'];
    expect(blind.args).toBe(blind.args);
    expect(blind.result).toBe(TASKS['cash.blind'].result);
    expect(TASKS['timestamp.check'].args.safeParse(args).success).toBe(true);
    expect(TASKS['timestamp.check'].args.safeParse({ ...args, extra: 1 }).success).toBe(false);
    expect(TASKS['timestamp.check'].result.safeParse(trusted).success).toBe(true);
  });
});

describe('@simplewebauthn/server as offscreen tasks', () => {
  const EXT = 'chrome-extension://kfjpmdjmiogaolnnlnbpdnhonnpaecoa';
  const tasks = new OffscreenTasks({ importTasks: async () => ({ runTask }) });
  const viaTasks = offscreenWebAuthnLibrary(tasks);
  // Unit files share one module graph (isolate: false): put the default back for the files after this one.
  afterAll(() => useWebAuthnLibrary(() => import('@simplewebauthn/server')));

  async function outcomes<T>(run: () => Promise<T>): Promise<[unknown, unknown]> {
    const settle = (p: Promise<T>) =>
      p.then(
        (v) => ({ ok: v }),
        (e: { code?: unknown; details?: unknown; message?: unknown }) => ({ code: e.code, details: e.details, message: e.message }),
      );
    useWebAuthnLibrary(() => import('@simplewebauthn/server'));
    const direct = await settle(run());
    useWebAuthnLibrary(async () => viaTasks);
    const offscreen = await settle(run());
    return [direct, offscreen];
  }

  it('registration: the same credential, and the same check named when it fails', async () => {
    const t = await SoftAuthenticator.create({ rpId: EXT, origin: EXT });
    const challenge = encodeBase64url(crypto.getRandomValues(new Uint8Array(32)));
    const opts = { expectedChallenge: challenge, expectedOrigin: EXT, expectedRpId: EXT };
    const good = await t.makeCredential(challenge);
    const [direct, offscreen] = await outcomes(() => verifyRegistration({ response: good, ...opts }));
    expect(direct).toMatchObject({ ok: { credentialId: t.credentialId, jwk: t.jwk } });
    expect(offscreen).toEqual(direct);
    for (const [response, extra] of [
      [good, { expectedChallenge: encodeBase64url(new Uint8Array(32)) }],
      [await t.makeCredential(challenge, { origin: 'https://evil.example' }), {}],
      [await t.makeCredential(challenge, { flags: FLAG_UP }), {}],
    ] as const) {
      const [d, o] = await outcomes(() => verifyRegistration({ response, ...opts, ...extra }));
      expect(d).toMatchObject({ code: 'ERR_WEBAUTHN' });
      expect(o).toEqual(d);
    }
  });

  it('assertions the fast path hands over: the same outcome', async () => {
    const t = await SoftAuthenticator.create({ rpId: EXT, origin: EXT });
    const verifier = createWebAuthnVerifier({ expectedOrigins: [EXT], expectedRpIds: [EXT], implementation: 'library' });
    const base = { type: 'semper.order', version: 1 as const, dealId: 'deal-0123456789abcdef', issuedAt: '2026-11-23T10:00:00.000Z', body: { amount: 1 } };
    const good = await t.signStatement(base);
    const [d, o] = await outcomes(() => verifyStatement(good, { webauthn: verifier }));
    expect(d).toMatchObject({ ok: { userVerified: true } });
    expect(o).toEqual(d);
    for (const bad of [await t.signStatement(base, { origin: 'https://evil.example' }), await t.signStatement(base, { flags: FLAG_UP })]) {
      const [db, ob] = await outcomes(() => verifyStatement(bad, { webauthn: verifier }));
      expect(db).toMatchObject({ code: 'ERR_WEBAUTHN' });
      expect(ob).toEqual(db);
    }
  });
});

describe('e-cash blinding and unblinding as offscreen tasks (@cloudflare/blindrsa-ts out of the worker)', () => {
  async function denomination(index: number, value: number) {
    const f = await fixtureDenomination(index, value);
    const d: VerifiedDenomination = { ...f.denomination, publicKey: await importDenominationKey(f.denomination.rsaPublicKey) };
    return { d, blindSign: f.blindSign };
  }
  /** An offscreen document that runs the real tasks, records what it was sent, and may change an answer. */
  function recordingTasks(change: (task: string, result: unknown) => unknown = (_t, r) => r) {
    const sent: unknown[] = [];
    const tasks = new OffscreenTasks({
      document: {
        ensure: async () => undefined,
        close: async () => undefined,
        async send(message) {
          sent.push(message);
          const { task, args } = message as { task: 'cash.blind' | 'cash.unblind'; args: unknown };
          return { ok: true, result: change(task, await runTask(task, args)) };
        },
      },
      importTasks: () => Promise.reject(new Error('not this path')),
    });
    return { tasks, sent };
  }

  it("blinds with coin keys made in the worker (only their ids go to the task), and unblinds the bank's answer into coins of the denomination", async () => {
    const { d, blindSign } = await denomination(0, 100);
    const { tasks, sent } = recordingTasks();
    const cash = offscreenCash(tasks);
    const [secret] = await cash.prepareCoins([d]);
    expect(secret!.coinId).toBe(await jwkThumbprint(secret!.publicJwk));
    expect(JSON.stringify(sent)).not.toContain(secret!.privateJwk.d!);
    const coin = { denominationId: d.id, coinId: secret!.coinId, prefix: secret!.prefix, inv: secret!.inv, rsaPublicKey: d.rsaPublicKey };
    const reply = await cash.unblind({ kind: 'unblind', coins: [{ ...coin, blindSignature: blindSign(secret!.blindedMsg) }] });
    expect(reply.kind).toBe('response');
    const [signature] = (reply as { body: { signatures: string[] } }).body.signatures;
    expect(await verifyCoin({ denominationId: d.id, publicJwk: secret!.publicJwk, prefix: secret!.prefix, signature: signature! }, d)).toBe(true);
  });

  it('a blind signature that does not finalize comes back as ERR_SIGNATURE_INVALID; an answer outside the schema as a task to run again (no status)', async () => {
    const { d, blindSign } = await denomination(0, 100);
    const real = offscreenCash(recordingTasks().tasks);
    const [secret, another] = await real.prepareCoins([d, d]);
    const coin = { denominationId: d.id, coinId: secret!.coinId, prefix: secret!.prefix, inv: secret!.inv, rsaPublicKey: d.rsaPublicKey };
    // The bank's blind signature, but over another coin's blinded message.
    const refused = await real.unblind({ kind: 'unblind', coins: [{ ...coin, blindSignature: blindSign(another!.blindedMsg) }] });
    expect(refused).toMatchObject({ kind: 'error', error: { code: 'ERR_SIGNATURE_INVALID' } });
    expect('status' in refused).toBe(false);
    const truncated = offscreenCash(recordingTasks((task, r) => (task === 'cash.unblind' ? { signatures: ['AAAA'] } : r)).tasks);
    const outside = await truncated.unblind({ kind: 'unblind', coins: [{ ...coin, blindSignature: blindSign(secret!.blindedMsg) }] });
    expect(outside).toMatchObject({ kind: 'error', error: { code: 'ERR_INTERNAL', message: expect.stringMatching(/answered outside its schema/) } });
    expect('status' in outside).toBe(false);
  });
});
