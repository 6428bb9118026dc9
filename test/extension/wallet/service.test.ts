/**
 * The wallet in the worker (extension/wallet): purses on the worker's one host (the real
 * MachineHost with in-memory stores, as IndexedDB would keep them), the real HTTP transport
 * (worker/http.ts) into the real bank (server/bank over Hono, in process), the real key store.
 * A "device" can be killed at any point (its transport never answers, or answers after the bank
 * served) and booted again from what its stores hold: no coin, no withdrawal and no payment is lost,
 * and money is conserved at the bank after every test.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isSemperError } from '../../../core/errors.js';
import { cryptoRandom } from '../../../core/machine.js';
import { verifyStatement } from '../../../core/statements/index.js';
import { createBankApp } from '../../../server/bank/index.js';
import { KindRoutedStore, MemoryDealStore, type WalletRecord } from '../../../extension/deals/records.js';
import { KeyStore, MemoryKeyRecords } from '../../../extension/identity/key-store.js';
import { type HostOutbound, MachineHost } from '../../../extension/worker/host.js';
import { OffscreenTasks } from '../../../extension/worker/offscreen.js';
import { offscreenCash } from '../../../extension/wallet/cash-tasks.js';
import { getJson, httpTransport, type HttpReply } from '../../../extension/worker/http.js';
import { BACKUP_FORMAT, PBKDF2_ITERATIONS } from '../../../extension/wallet/backup.js';
import { type PurseState, purseMachine, walletKind } from '../../../extension/wallet/purse.js';
import { canonicalJson } from '../../../core/encoding/index.js';
import { WalletService } from '../../../extension/wallet/service.js';
import { walletPayments } from '../../../extension/payments/wallet-payments.js';
import { closeCheckingInvariants, type Customer, CURRENCY, customer, dealId, openTestBank, type TestBank } from '../../core/payment/helpers.js';

const BANK = 'http://127.0.0.1:8453';
const eur = (amount: number) => ({ amount, currency: CURRENCY });

let t: TestBank;
let app: ReturnType<typeof createBankApp>;
let shop: Customer;
let code: string;

beforeEach(async () => {
  t = await openTestBank();
  shop = await customer(t.bank);
  app = createBankApp(t.bank, { signedStatementsPerMinute: 10_000, accountOpeningAttemptsPerMinute: 100 });
  code = await t.bank.createAccountOpeningCode({ name: 'Test Shopper', amount: 2_000 });
});

afterEach(() => closeCheckingInvariants(t));

/** The bank over HTTP semantics (status codes, error bodies) without a socket. */
const bankFetch = ((url: URL | string, init?: RequestInit) => app.request(String(url), init)) as unknown as typeof fetch;

type Fault = (outbound: HostOutbound, deliver: () => Promise<HttpReply>) => Promise<HttpReply>;

/** The worker's tasks as in Firefox (no offscreen document: the task module imported and run). */
const importedTasks = (): OffscreenTasks => new OffscreenTasks({ importTasks: () => import('../../../extension/offscreen/tasks.js') });

/** A browser profile: its stores survive a restart; the host, key store and wallet are made anew on boot. */
class Device {
  readonly deals = new MemoryDealStore();
  readonly purses = new MemoryDealStore();
  readonly keyRecords = new MemoryKeyRecords();
  /** Sends seen, in order, with whether the purse's state already held the request (persisted before it left). */
  readonly sent: { path: string; persisted: boolean }[] = [];
  /** Unblindings asked of the worker's task, with whether the purse's state already named them. */
  readonly unblinds: { persisted: boolean }[] = [];
  fault: Fault | undefined;
  /** The blind-RSA tasks (extension/wallet/cash-tasks.ts): the real task module unless a test replaces them. */
  tasks: OffscreenTasks = importedTasks();
  host!: MachineHost;
  wallet!: WalletService;
  keys!: KeyStore;

  constructor(private readonly waitMs = 10_000) {
    this.boot();
  }

  boot(): void {
    const now = () => t.clock.now;
    this.keys = new KeyStore({ records: this.keyRecords, now });
    const real = httpTransport(bankFetch);
    const cash = offscreenCash(this.tasks);
    const host: MachineHost = new MachineHost({
      store: new KindRoutedStore(this.deals, this.purses),
      kinds: [walletKind({ random: cryptoRandom, accountSigner: (id) => this.keys.accountSigner(id) })],
      transport: async (origin, outbound) => {
        expect(origin).toBe(BANK);
        if (outbound.kind === 'pay') throw new Error('a purse sends only HTTP to its bank, and unblindings to its worker');
        // Persisted before it leaves: what the stores hold already says to send exactly this.
        const held = (await this.purses.listAll()).some((p) =>
          purseMachine.pendingSends(p.state as PurseState).some((o) => canonicalJson(o) === canonicalJson(outbound)),
        );
        if (outbound.kind === 'unblind') this.unblinds.push({ persisted: held });
        else this.sent.push({ path: outbound.path, persisted: held });
        const deliver = () => (outbound.kind === 'unblind' ? cash.unblind(outbound) : real(origin, outbound));
        const fault = this.fault;
        return fault ? fault(outbound, deliver) : deliver();
      },
      alarms: { set: () => undefined, clear: () => undefined },
      now,
      onAwaitingUser: () => undefined,
      onSettled: () => undefined,
      onChanged: (r) => wallet.onChanged(r),
    });
    const wallet: WalletService = new WalletService({
      host,
      purses: this.purses,
      keys: { newAccountKey: (b) => this.keys.newAccountKey(b), accountSigner: (id) => this.keys.accountSigner(id) },
      getJson: (url) => getJson(url, bankFetch),
      roots: async () => [],
      now,
      waitMs: this.waitMs,
      prepareCoins: (denominations) => cash.prepareCoins(denominations),
    });
    this.host = host;
    this.wallet = wallet;
  }

  /** The worker was killed: a new one starts from the stores and resumes what was in flight. */
  async restart(): Promise<void> {
    this.fault = undefined;
    this.boot();
    await this.host.resume();
    await this.host.idle();
  }

  async purse(): Promise<WalletRecord> {
    const all = (await this.purses.listAll()).filter((p): p is WalletRecord => p.kind === 'wallet' && !p.terminal);
    expect(all).toHaveLength(1);
    return all[0]!;
  }

  async balance(): Promise<number> {
    return (await this.wallet.status()).purses[0]!.balance!.amount;
  }
}

/** A fault that kills the worker at the first request to `path` ('unblind': the unblinding task): before it reached the bank, or after the bank served it. */
function killAt(path: string, when: 'before-send' | 'after-served'): Fault {
  return async (outbound, deliver) => {
    if ((outbound.kind === 'http' ? outbound.path : outbound.kind) === path) {
      if (when === 'after-served') await deliver();
      return new Promise<HttpReply>(() => undefined); // the worker is gone: nothing comes back
    }
    return deliver();
  };
}

async function openedDevice(waitMs?: number): Promise<Device> {
  const d = new Device(waitMs);
  await d.wallet.openAccount({ bankUrl: BANK, code });
  return d;
}

describe('wallet: opening an account', () => {
  it("opens the account with the bank's one-time code, bound to a new account key; the bank's key is pinned", async () => {
    const d = new Device();
    const purse = await d.wallet.openAccount({ bankUrl: `${BANK}/`, code, fingerprint: t.bank.keyId });
    expect(purse).toMatchObject({ phase: 'open', bankUrl: BANK, bankKeyId: t.bank.keyId, balance: eur(0) });
    const key = (await d.keys.list()).find((k) => k.purpose === 'account')!;
    expect(key.origin).toBe(BANK);
    expect(key.pair.privateKey.extractable).toBe(false);
    // The account is bound to that key (not the identity key: none was made), funded with the code's amount.
    expect(await t.bank.accountOfKey(key.keyId)).toBe(purse.account);
    expect((await d.keys.list()).some((k) => k.purpose === 'identity')).toBe(false);
    expect(await t.bank.balance(purse.account!)).toBe(2_000);
    expect(purse.history[0]).toMatchObject({ kind: 'opened', amount: eur(2_000) });
    // The bank's receipt is archived with the purse.
    const archived = await d.purses.archiveOf(purse.purseId);
    expect(archived.map((a) => a.type)).toEqual(['semper.bank.account-opened']);
    expect(d.sent.every((s) => s.persisted)).toBe(true);
    // One purse per bank.
    await expect(d.wallet.openAccount({ bankUrl: BANK, code })).rejects.toMatchObject({ code: 'ERR_PROTOCOL_STATE' });
  });

  it('a wrong code fails the opening (the purse is not kept open); the right code then opens it', async () => {
    const d = new Device();
    await expect(d.wallet.openAccount({ bankUrl: BANK, code: 'AAAA-BBBB-CCCC-DDDD' })).rejects.toMatchObject({ code: 'ERR_REGISTRATION_CODE' });
    expect((await d.wallet.status()).purses[0]).toMatchObject({ phase: 'failed', error: { code: 'ERR_REGISTRATION_CODE' } });
    await expect(d.wallet.openAccount({ bankUrl: BANK, code })).resolves.toMatchObject({ phase: 'open' });
  });

  it('refuses a bank whose key is not the fingerprint the user expects, and a bank URL in the clear off this computer', async () => {
    const d = new Device();
    await expect(d.wallet.openAccount({ bankUrl: BANK, code, fingerprint: 'x'.repeat(43) })).rejects.toMatchObject({ code: 'ERR_CERT_UNTRUSTED' });
    await expect(d.wallet.openAccount({ bankUrl: 'http://bank.example', code })).rejects.toMatchObject({ code: 'ERR_SCHEMA' });
    expect(await d.purses.listAll()).toEqual([]);
  });

  it('a worker killed after the bank opened the account: the restart asks again and gets the same account (the code is used once)', async () => {
    const d = new Device();
    d.fault = killAt('/bank/accounts/open', 'after-served');
    const opening = d.wallet.openAccount({ bankUrl: BANK, code });
    await new Promise((r) => setTimeout(r, 300));
    expect((await d.purse()).state.phase).toBe('opening');
    await d.restart();
    const purse = await d.purse();
    expect(purse.state).toMatchObject({ phase: 'open' });
    expect(await t.bank.balance(purse.state.account!)).toBe(2_000);
    void opening.catch(() => undefined);
  });
});

describe('wallet: withdrawing', () => {
  it('withdraws into coins of the issuing denominations; the account is debited once', async () => {
    const d = await openedDevice();
    const r = await d.wallet.withdraw({ bankUrl: BANK, amount: eur(1_200) });
    expect(r.status).toBe('done');
    expect(r.purse.balance).toEqual(eur(1_200));
    expect(r.purse.coins).toEqual([
      { value: eur(500), count: 2 },
      { value: eur(200), count: 1 },
    ]);
    expect(r.purse.history[0]).toMatchObject({ kind: 'withdrawal', amount: eur(1_200), coins: 3 });
    expect(await t.bank.balance(r.purse.account!)).toBe(800);
    expect(d.sent.map((s) => s.persisted)).toEqual([true, true]);
  });

  it('more than the account holds: refused by the bank, nothing taken, the failure in the history', async () => {
    const d = await openedDevice();
    await expect(d.wallet.withdraw({ bankUrl: BANK, amount: eur(2_500) })).rejects.toMatchObject({ code: 'ERR_INSUFFICIENT_FUNDS' });
    const s = (await d.wallet.status()).purses[0]!;
    expect(s.balance).toEqual(eur(0));
    expect(s.pending).toEqual([]);
    expect(s.history[0]).toMatchObject({ kind: 'failed', operation: 'withdrawal', error: { code: 'ERR_INSUFFICIENT_FUNDS' } });
  });

  for (const when of ['before-send', 'after-served'] as const) {
    it(`a worker killed mid-withdrawal (${when}) loses nothing: after the restart the coins are there, one debit`, async () => {
      const d = await openedDevice(500);
      const account = (await d.purse()).state.account!;
      d.fault = killAt('/bank/withdraw', when);
      const r = await d.wallet.withdraw({ bankUrl: BANK, amount: eur(700) }).catch((e: unknown) => e);
      void r;
      expect(await t.bank.balance(account)).toBe(when === 'after-served' ? 1_300 : 2_000);
      const pending = (await d.purse()).state.wallet.pending;
      expect(pending).toHaveLength(1);
      await d.restart();
      expect(await d.balance()).toBe(700);
      expect(await t.bank.balance(account)).toBe(1_300);
      expect((await d.purse()).state.wallet.pending).toEqual([]);
    });
  }
});

describe('wallet: unblinding in the worker (offscreen tasks)', () => {
  it('withdraws with blinding and unblinding as tasks, each asked for only once the purse had recorded it', async () => {
    const d = await openedDevice();
    const r = await d.wallet.withdraw({ bankUrl: BANK, amount: eur(700) });
    expect(r.purse.balance).toEqual(eur(700));
    expect(d.unblinds).toEqual([{ persisted: true }]);
  });

  it('a worker killed between the unblinding request and its answer: the restart unblinds again; the coins withdrawn are kept once, one debit', async () => {
    const d = await openedDevice(500);
    const account = (await d.purse()).state.account!;
    d.fault = killAt('unblind', 'after-served');
    const r = await d.wallet.withdraw({ bankUrl: BANK, amount: eur(700) });
    expect(r.status).toBe('pending');
    const [op] = (await d.purse()).state.wallet.pending;
    expect(op).toMatchObject({ kind: 'withdrawal', issued: { blindSignatures: expect.any(Array) } });
    expect((await d.purse()).state.wallet.coins).toEqual([]);
    expect(await t.bank.balance(account)).toBe(1_300);
    await d.restart();
    const purse = await d.purse();
    expect(purse.state.wallet.pending).toEqual([]);
    expect(purse.state.wallet.coins.map((c) => c.coinId).sort()).toEqual(op!.kind === 'withdrawal' ? op!.secrets.map((s) => s.coinId).sort() : []);
    expect(await d.balance()).toBe(700);
    expect(await t.bank.balance(account)).toBe(1_300);
    expect(purse.state.history.filter((h) => h.kind === 'withdrawal')).toHaveLength(1);
  });

  it('a task answer with a coin the denomination did not sign is refused: no coin kept, the failure named, the coins unblinded again later', async () => {
    const d = await openedDevice(500);
    const account = (await d.purse()).state.account!;
    const { runTask } = await import('../../../extension/offscreen/tasks.js');
    // The offscreen document answers the unblinding with the coins' signatures rotated: each a bank
    // signature, over another coin's message, under another denomination's key. Schema-valid.
    d.tasks = new OffscreenTasks({
      document: {
        ensure: async () => undefined,
        close: async () => undefined,
        async send(message) {
          const { task, args } = message as { task: 'cash.blind' | 'cash.unblind'; args: unknown };
          const result = await runTask(task, args);
          if (task === 'cash.unblind' && 'signatures' in result)
            return { ok: true, result: { signatures: [...result.signatures.slice(1), result.signatures[0]] } };
          return { ok: true, result };
        },
      },
      importTasks: () => Promise.reject(new Error('not this path')),
    });
    d.boot();
    const r = await d.wallet.withdraw({ bankUrl: BANK, amount: eur(700) });
    expect(r.status).toBe('pending');
    const purse = await d.purse();
    expect(purse.state.wallet.coins).toEqual([]);
    expect(purse.state.wallet.pending).toHaveLength(1);
    expect(purse.state.history.at(-1)).toMatchObject({ kind: 'failed', operation: 'withdrawal', error: { code: 'ERR_SIGNATURE_INVALID' } });
    expect(await t.bank.balance(account)).toBe(1_300);
    // The real task after a restart: the same coins, once.
    d.tasks = importedTasks();
    await d.restart();
    expect(await d.balance()).toBe(700);
    expect(await t.bank.balance(account)).toBe(1_300);
  });
});

describe('wallet: paying for a deal at the bank (the fair purchase calls `pay`)', () => {
  it("pays exactly from the coins at hand: the bank credits the payee and the wallet has the bank's proof and the money item", async () => {
    const d = await openedDevice();
    await d.wallet.withdraw({ bankUrl: BANK, amount: eur(700) });
    const reference = dealId();
    const r = await d.wallet.pay({ bankUrl: BANK, payee: shop.keyId, reference, amount: eur(700) });
    expect(r.proof.type).toBe('semper.payment.proof');
    expect(r.proof.body).toEqual({ method: 'cash', value: eur(700), payee: shop.keyId, reference });
    expect((await verifyStatement(r.proof, { types: ['semper.payment.proof'] })).signerJwk).toBeDefined();
    expect(r.item).toEqual({ kind: 'money', method: 'cash', value: eur(700), proof: r.proof });
    expect(await t.bank.balance(shop.account)).toBe(700);
    const s = (await d.wallet.status()).purses[0]!;
    expect(s.balance).toEqual(eur(0));
    expect(s.history[0]).toMatchObject({ kind: 'payment', reference, payee: shop.keyId, amount: eur(700), proof: r.proof });
    expect((await d.purses.archiveOf(s.purseId)).map((a) => a.type)).toContain('semper.bank.deposit');
    // The same call again is the same payment (idempotent by deal), never a second one.
    const again = await d.wallet.pay({ bankUrl: BANK, payee: shop.keyId, reference, amount: eur(700) });
    expect(again.proof).toEqual(r.proof);
    expect(await t.bank.balance(shop.account)).toBe(700);
    await expect(d.wallet.pay({ bankUrl: BANK, payee: shop.keyId, reference, amount: eur(100) })).rejects.toMatchObject({ code: 'ERR_REPLAY' });
  });

  it('refreshes for change first when no coins pay the amount exactly', async () => {
    const d = await openedDevice();
    await d.wallet.withdraw({ bankUrl: BANK, amount: eur(1_000) }); // 500 + 500
    const r = await d.wallet.pay({ bankUrl: BANK, payee: shop.keyId, reference: dealId(), amount: eur(300) });
    expect(r.item.value).toEqual(eur(300));
    expect(await t.bank.balance(shop.account)).toBe(300);
    const s = (await d.wallet.status()).purses[0]!;
    expect(s.balance).toEqual(eur(700));
    expect(s.history.map((h) => h.kind).slice(0, 2)).toEqual(['payment', 'refresh']);
    expect(d.sent.map((x) => x.path)).toEqual(['/bank/accounts/open', '/bank/withdraw', '/bank/refresh', '/bank/deposit']);
    expect(d.sent.every((x) => x.persisted)).toBe(true);
  });

  it('two payments at once, each needing change: the coins are chosen one payment at a time, both are paid', async () => {
    const d = await openedDevice();
    await d.wallet.withdraw({ bankUrl: BANK, amount: eur(1_000) }); // 500 + 500
    const [a, b] = await Promise.all([
      d.wallet.pay({ bankUrl: BANK, payee: shop.keyId, reference: dealId(), amount: eur(300) }),
      d.wallet.pay({ bankUrl: BANK, payee: shop.keyId, reference: dealId(), amount: eur(400) }),
    ]);
    expect([a.item.value, b.item.value]).toEqual([eur(300), eur(400)]);
    expect(await t.bank.balance(shop.account)).toBe(700);
    expect(await d.balance()).toBe(300);
  });

  it('not enough coins: ERR_INSUFFICIENT_FUNDS, nothing sent', async () => {
    const d = await openedDevice();
    await d.wallet.withdraw({ bankUrl: BANK, amount: eur(200) });
    const before = d.sent.length;
    await expect(d.wallet.pay({ bankUrl: BANK, payee: shop.keyId, reference: dealId(), amount: eur(300) })).rejects.toMatchObject({
      code: 'ERR_INSUFFICIENT_FUNDS',
    });
    expect(d.sent.length).toBe(before);
  });

  for (const path of ['/bank/refresh', '/bank/deposit']) {
    it(`a worker killed at ${path} (after the bank served it): the restart finishes the payment; asking again returns its proof`, async () => {
      const d = await openedDevice();
      await d.wallet.withdraw({ bankUrl: BANK, amount: eur(1_000) });
      const reference = dealId();
      d.fault = killAt(path, 'after-served');
      void d.wallet.pay({ bankUrl: BANK, payee: shop.keyId, reference, amount: eur(300) }, { timeoutMs: 500 }).catch(() => undefined);
      await new Promise((r) => setTimeout(r, 800));
      await d.restart();
      const r = await d.wallet.pay({ bankUrl: BANK, payee: shop.keyId, reference, amount: eur(300) });
      expect(r.proof.body).toMatchObject({ reference, value: eur(300) });
      expect(await t.bank.balance(shop.account)).toBe(300);
      expect(await d.balance()).toBe(700);
    });
  }
});

describe('wallet: backup and restore', () => {
  it('an encrypted file (PBKDF2-SHA256 ≥ 600 000, AES-GCM, versioned header); a wrong passphrase or an altered file is refused', async () => {
    const d = await openedDevice();
    await d.wallet.withdraw({ bankUrl: BANK, amount: eur(700) });
    const { file, fileName } = await d.wallet.backup({ passphrase: 'correct horse battery' });
    expect(fileName).toMatch(/^semper-wallet-\d{4}-\d{2}-\d{2}\.json$/);
    const header = JSON.parse(file) as { format: string; version: number; kdf: { iterations: number; hash: string }; cipher: { name: string } };
    expect(header).toMatchObject({ format: BACKUP_FORMAT, version: 1, kdf: { name: 'PBKDF2', hash: 'SHA-256' }, cipher: { name: 'AES-GCM' } });
    expect(header.kdf.iterations).toBeGreaterThanOrEqual(PBKDF2_ITERATIONS);
    // Nothing of a coin is readable in the file.
    const coin = (await d.purse()).state.wallet.coins[0]!;
    expect(file).not.toContain(coin.coinId);
    expect(file).not.toContain(String(coin.privateJwk.d));
    const other = new Device();
    await expect(other.wallet.restore({ file, passphrase: 'wrong horse battery' })).rejects.toMatchObject({ code: 'ERR_KEY' });
    const altered = JSON.stringify({ ...JSON.parse(file), createdAt: '2020-01-01T00:00:00.000Z' });
    await expect(other.wallet.restore({ file: altered, passphrase: 'correct horse battery' })).rejects.toMatchObject({ code: 'ERR_KEY' });
    const future = JSON.stringify({ ...JSON.parse(file), version: 2 });
    await expect(other.wallet.restore({ file: future, passphrase: 'correct horse battery' })).rejects.toThrow(/version 2/);
    expect(await other.purses.listAll()).toEqual([]);
  });

  it('restored elsewhere, the coins are there; a coin spent meanwhile shows as double-spent with the proof, not lost', async () => {
    const a = await openedDevice();
    await a.wallet.withdraw({ bankUrl: BANK, amount: eur(700) }); // 500 + 200
    const { file } = await a.wallet.backup({ passphrase: 'correct horse battery' });
    const b = new Device();
    const restored = await b.wallet.restore({ file, passphrase: 'correct horse battery' });
    expect(restored.purses[0]).toMatchObject({ bankUrl: BANK, bankKeyId: t.bank.keyId, balance: eur(700) });
    // The account key stayed with the first browser: the restored purse cannot withdraw.
    await expect(b.wallet.withdraw({ bankUrl: BANK, amount: eur(100) })).rejects.toMatchObject({ code: 'ERR_KEY' });
    // The first browser pays with the 500 coin.
    const reference = dealId();
    await a.wallet.pay({ bankUrl: BANK, payee: shop.keyId, reference, amount: eur(500) });
    // The second renews its coins: the bank refuses the spent one with the first spend as proof.
    await expect(b.wallet.renew({ bankUrl: BANK })).rejects.toMatchObject({ code: 'ERR_DOUBLE_SPEND' });
    const s = (await b.wallet.status()).purses[0]!;
    const found = s.history.find((h) => h.kind === 'double-spend')!;
    expect(found).toMatchObject({ amount: eur(500), reference, proof: { type: 'semper.cash.spend' } });
    expect((found.proof!.body as { payee: string }).payee).toBe(shop.keyId);
    expect(s.balance).toEqual(eur(200));
    // The rest still spends.
    const r = await b.wallet.pay({ bankUrl: BANK, payee: shop.keyId, reference: dealId(), amount: eur(200) });
    expect(r.item.value).toEqual(eur(200));
    expect(await t.bank.balance(shop.account)).toBe(700);
  });

  it('paying from a restored purse whose coin was spent elsewhere: the coin is marked with the proof and the payment is made from the others', async () => {
    const a = await openedDevice();
    await a.wallet.withdraw({ bankUrl: BANK, amount: eur(700) }); // 500 + 200
    const { file } = await a.wallet.backup({ passphrase: 'correct horse battery' });
    const b = new Device();
    await b.wallet.restore({ file, passphrase: 'correct horse battery' });
    const first = dealId();
    await a.wallet.pay({ bankUrl: BANK, payee: shop.keyId, reference: first, amount: eur(200) }); // the 200 coin
    const reference = dealId();
    const r = await b.wallet.pay({ bankUrl: BANK, payee: shop.keyId, reference, amount: eur(200) });
    expect(r.proof.body).toMatchObject({ reference, value: eur(200) });
    expect(await t.bank.balance(shop.account)).toBe(400);
    const s = (await b.wallet.status()).purses[0]!;
    expect(s.balance).toEqual(eur(300));
    expect(s.history.map((h) => h.kind).slice(0, 4)).toEqual(['payment', 'refresh', 'failed', 'double-spend']);
    expect(s.history.find((h) => h.kind === 'double-spend')).toMatchObject({ amount: eur(200), reference: first, proof: { type: 'semper.cash.spend' } });
  });

  it('restored into the same purse: nothing it knows changes; an unfinished withdrawal in the backup is finished', async () => {
    const d = await openedDevice();
    await d.wallet.withdraw({ bankUrl: BANK, amount: eur(500) });
    const { file } = await d.wallet.backup({ passphrase: 'correct horse battery' });
    const before = (await d.purse()).state.wallet;
    await d.wallet.restore({ file, passphrase: 'correct horse battery' });
    expect((await d.purse()).state.wallet.coins).toEqual(before.coins);
    expect(await d.balance()).toBe(500);

    // A backup made while a withdrawal was in flight, restored in another browser after the first was lost.
    const lost = await openedDevice().catch((e: unknown) => e);
    expect(isSemperError(lost) && lost.code).toBe('ERR_REGISTRATION_CODE'); // the code is used once
    d.fault = killAt('/bank/withdraw', 'after-served');
    void d.wallet.withdraw({ bankUrl: BANK, amount: eur(200) }).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 300));
    const inFlight = await d.wallet.backup({ passphrase: 'correct horse battery' });
    const other = new Device();
    await other.wallet.restore({ file: inFlight.file, passphrase: 'correct horse battery' });
    await other.host.idle();
    expect(await other.balance()).toBe(700);
    expect(await t.bank.balance((await d.purse()).state.account!)).toBe(1_300);
  });
});

describe('wallet: paying for a deal by account transfer (the fair purchase calls `transfer`)', () => {
  const transferBodies = (d: Device) => d.sent.filter((x) => x.path === '/bank/transfer');

  it("an order signed by the account key, recorded before it leaves: the bank moves the money once and the purse keeps the bank's proof", async () => {
    const d = await openedDevice();
    const account = (await d.purse()).state.account!;
    const reference = dealId();
    const r = await d.wallet.transfer({ bankUrl: BANK, payee: shop.keyId, reference, amount: eur(300) });
    expect(r.proof.body).toEqual({ method: 'account', value: eur(300), payee: shop.keyId, reference });
    expect(r.item).toEqual({ kind: 'money', method: 'account', value: eur(300), proof: r.proof });
    expect(await t.bank.balance(shop.account)).toBe(300);
    expect(await t.bank.balance(account)).toBe(1_700);
    const purse = await d.purse();
    const recorded = purse.state.transfers!.find((x) => x.reference === reference)!;
    expect(recorded).toMatchObject({ phase: 'done', payee: shop.keyId, amount: eur(300) });
    expect(recorded.order.body).toMatchObject({ payer: account, payee: shop.keyId, reference });
    expect((await d.wallet.status()).purses[0]!.history[0]).toMatchObject({ kind: 'transfer', reference, payee: shop.keyId, amount: eur(300), proof: r.proof });
    expect((await d.purses.archiveOf(purse.dealId)).map((a) => a.type)).toEqual(
      expect.arrayContaining(['semper.bank.transfer-receipt', 'semper.payment.proof']),
    );
    expect(transferBodies(d)).toHaveLength(1);
    expect(d.sent.every((x) => x.persisted)).toBe(true);
    // The same reference again: the recorded outcome, no second order; another amount: ERR_REPLAY.
    const again = await d.wallet.transfer({ bankUrl: BANK, payee: shop.keyId, reference, amount: eur(300) });
    expect(again.proof).toEqual(r.proof);
    expect(transferBodies(d)).toHaveLength(1);
    await expect(d.wallet.transfer({ bankUrl: BANK, payee: shop.keyId, reference, amount: eur(100) })).rejects.toMatchObject({ code: 'ERR_REPLAY' });
    await expect(d.wallet.transfer({ bankUrl: BANK, payee: t.bank.keyId, reference, amount: eur(300) })).rejects.toMatchObject({ code: 'ERR_REPLAY' });
    expect(await t.bank.balance(account)).toBe(1_700);
  });

  it('the same reference asked twice at once: one order, one transfer', async () => {
    const d = await openedDevice();
    const account = (await d.purse()).state.account!;
    const reference = dealId();
    const [a, b] = await Promise.all([
      d.wallet.transfer({ bankUrl: BANK, payee: shop.keyId, reference, amount: eur(250) }),
      d.wallet.transfer({ bankUrl: BANK, payee: shop.keyId, reference, amount: eur(250) }),
    ]);
    expect(a.proof).toEqual(b.proof);
    expect(transferBodies(d)).toHaveLength(1);
    expect(await t.bank.balance(account)).toBe(1_750);
    expect(await t.bank.balance(shop.account)).toBe(250);
  });

  it('more than the account holds: refused by the bank, nothing moved, the error recorded (and returned again, nothing resent)', async () => {
    const d = await openedDevice();
    const account = (await d.purse()).state.account!;
    const reference = dealId();
    await expect(d.wallet.transfer({ bankUrl: BANK, payee: shop.keyId, reference, amount: eur(2_500) })).rejects.toMatchObject({
      code: 'ERR_INSUFFICIENT_FUNDS',
    });
    expect(await t.bank.balance(account)).toBe(2_000);
    expect(await t.bank.balance(shop.account)).toBe(0);
    const purse = await d.purse();
    expect(purse.state.transfers!.find((x) => x.reference === reference)).toMatchObject({ phase: 'failed', error: { code: 'ERR_INSUFFICIENT_FUNDS' } });
    expect((await d.wallet.status()).purses[0]!.history[0]).toMatchObject({
      kind: 'failed',
      operation: 'transfer',
      reference,
      error: { code: 'ERR_INSUFFICIENT_FUNDS' },
    });
    expect(purseMachine.pendingSends(purse.state as PurseState)).toEqual([]);
    await expect(d.wallet.transfer({ bankUrl: BANK, payee: shop.keyId, reference, amount: eur(2_500) })).rejects.toMatchObject({
      code: 'ERR_INSUFFICIENT_FUNDS',
    });
    expect(transferBodies(d)).toHaveLength(1);
  });

  for (const when of ['before-send', 'after-served'] as const) {
    it(`a worker killed at /bank/transfer (${when}): the restart sends the same order; asking again returns its proof; exactly one debit`, async () => {
      const d = await openedDevice(500);
      const account = (await d.purse()).state.account!;
      const reference = dealId();
      d.fault = killAt('/bank/transfer', when);
      await expect(d.wallet.transfer({ bankUrl: BANK, payee: shop.keyId, reference, amount: eur(300) }, { timeoutMs: 300 })).rejects.toMatchObject({
        code: 'ERR_PROTOCOL_STATE',
      });
      expect(await t.bank.balance(account)).toBe(when === 'after-served' ? 1_700 : 2_000);
      const order = (await d.purse()).state.transfers!.find((x) => x.reference === reference)!.order;
      expect((await d.wallet.status()).purses[0]!.pending).toEqual([expect.objectContaining({ kind: 'transfer', reference, amount: eur(300), attempts: 1 })]);
      await d.restart();
      const r = await d.wallet.transfer({ bankUrl: BANK, payee: shop.keyId, reference, amount: eur(300) });
      expect(r.proof.body).toMatchObject({ method: 'account', reference, value: eur(300) });
      expect(await t.bank.balance(account)).toBe(1_700);
      expect(await t.bank.balance(shop.account)).toBe(300);
      // The order sent after the restart is the one recorded before the first send (never re-signed).
      const done = (await d.purse()).state.transfers!.find((x) => x.reference === reference)!;
      expect(done).toMatchObject({ phase: 'done' });
      expect(canonicalJson(done.order)).toBe(canonicalJson(order));
      expect(transferBodies(d)).toHaveLength(2);
      expect(d.sent.every((x) => x.persisted)).toBe(true);
    });
  }

  it('a transfer in flight in a backup: restored elsewhere, the same order goes again as is (one debit); the outcome is in the restored purse', async () => {
    const a = await openedDevice(500);
    const account = (await a.purse()).state.account!;
    const reference = dealId();
    a.fault = killAt('/bank/transfer', 'after-served');
    await expect(a.wallet.transfer({ bankUrl: BANK, payee: shop.keyId, reference, amount: eur(400) }, { timeoutMs: 300 })).rejects.toMatchObject({
      code: 'ERR_PROTOCOL_STATE',
    });
    a.fault = undefined;
    const { file } = await a.wallet.backup({ passphrase: 'correct horse battery' });
    const b = new Device();
    await b.wallet.restore({ file, passphrase: 'correct horse battery' });
    await b.host.idle();
    // The restored purse holds no account key, but the recorded order needs none: the bank repeats its answer.
    const r = await b.wallet.transfer({ bankUrl: BANK, payee: shop.keyId, reference, amount: eur(400) });
    expect(r.proof.body).toMatchObject({ method: 'account', reference, value: eur(400) });
    expect(await t.bank.balance(account)).toBe(1_600);
    expect(await t.bank.balance(shop.account)).toBe(400);
    expect(b.sent.filter((x) => x.path === '/bank/transfer')).toHaveLength(1);
  });

  it("the payment service: method 'account' is available once the account is open (no balance known) and pays by transfer", async () => {
    const d = new Device();
    const payments = walletPayments(d.wallet);
    const bank = { keyId: t.bank.keyId, url: BANK };
    expect(await payments.funds(bank, eur(300), ['cash', 'account'])).toEqual([
      { method: 'cash', available: false, reason: 'no-purse' },
      { method: 'account', available: false, reason: 'no-account' },
    ]);
    await d.wallet.openAccount({ bankUrl: BANK, code });
    expect(await payments.funds(bank, eur(300), ['account'])).toEqual([{ method: 'account', available: true }]);
    // Another bank key than the offer names: not this account.
    expect(await payments.funds({ ...bank, keyId: shop.keyId }, eur(300), ['account'])).toEqual([
      { method: 'account', available: false, reason: 'no-account' },
    ]);
    const reference = dealId();
    const reply = await payments.pay({ method: 'account', amount: eur(300), payee: shop.keyId, reference, bank });
    expect(reply).toMatchObject({ kind: 'response', body: { kind: 'money', method: 'account', value: eur(300) } });
    expect(await t.bank.balance(shop.account)).toBe(300);
    const refused = await payments.pay({ method: 'account', amount: eur(5_000), payee: shop.keyId, reference: dealId(), bank });
    expect(refused).toMatchObject({ kind: 'error', status: 409, error: { code: 'ERR_INSUFFICIENT_FUNDS' } });
    expect(await t.bank.balance(shop.account)).toBe(300);
  });
});
