/** Shared pieces of the payment tests: RSA keys from the fixture pool, a bank on a temp dir, customers, coins. */
import { sql } from 'kysely';
import { type EngineName, pgSchema } from '../../helpers/engines.js';
import { constants, createPrivateKey, createPublicKey, privateDecrypt } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPair, type Signer, signerFromKeyPair } from '../../../core/crypto/index.js';
import { decodeBase64url, encodeBase64url, randomId } from '../../../core/encoding/index.js';
import {
  CASH_TYPES,
  type CoinSecret,
  type Denomination,
  DENOMINATIONS_TYPE,
  type DenominationSet,
  denominationId,
  finalizeCoin,
  type IssueAnswer,
  type IssueBody,
  prepareCoin,
  type SpendableCoin,
  verifyDenominationList,
} from '../../../core/payment/cash/index.js';
import { isSemperError, type SemperError } from '../../../core/errors.js';
import { nowIso, signStatement, type Statement } from '../../../core/statements/index.js';
import { BankService, type BankServiceOptions, type RsaKeyFactory } from '../../../server/bank/index.js';
import { TEST_RSA_KEYS } from './rsa-keys.js';

export const T0 = Date.UTC(2026, 10, 1);
export const DAY = 86_400_000;
export const CURRENCY = 'CHF';

/** A key factory handing out the fixture keys in order (each bank gets its own run through them). */
export function poolKeys(start = 0): RsaKeyFactory {
  let i = start;
  return () => {
    if (i >= TEST_RSA_KEYS.length) throw new Error('test RSA key pool exhausted');
    return { pkcs8: Buffer.from(TEST_RSA_KEYS[i++]!, 'base64') };
  };
}

export async function signer(): Promise<Signer> {
  return signerFromKeyPair('ES256', await generateKeyPair('ES256'));
}

/** A denomination of fixture key `index` (without a bank: core tests), and its RSA private key. */
export async function fixtureDenomination(index: number, value: number, times: Partial<Denomination> = {}) {
  const privateKey = createPrivateKey({ key: Buffer.from(TEST_RSA_KEYS[index]!, 'base64'), format: 'der', type: 'pkcs8' });
  const spki = createPublicKey(privateKey).export({ type: 'spki', format: 'der' });
  const denomination: Denomination = {
    id: await denominationId(spki),
    value: { amount: value, currency: CURRENCY },
    rsaPublicKey: encodeBase64url(spki),
    validFrom: T0 - DAY,
    withdrawUntil: T0 + 30 * DAY,
    spendUntil: T0 + 120 * DAY,
    depositUntil: T0 + 150 * DAY,
    ...times,
  };
  const blindSign = (blindedMsg: string): string =>
    encodeBase64url(privateDecrypt({ key: privateKey, padding: constants.RSA_NO_PADDING }, decodeBase64url(blindedMsg)));
  return { denomination, privateKey, blindSign };
}

export async function signKeyList(bank: Signer, denominations: unknown[], bankKeyId = bank.keyId): Promise<Statement> {
  return (await signStatement(
    { type: DENOMINATIONS_TYPE, version: 1, dealId: 'denominations', issuedAt: nowIso(T0), body: { bankKeyId, denominations } as never },
    bank,
  )) as Statement;
}

export interface TestBank {
  bank: BankService;
  dir: string;
  /** Where the bank keeps its records, to open another BankService on the same (another process). */
  location: { dataDir: string; databaseUrl?: string };
  clock: { now: number };
  set(): Promise<DenominationSet>;
  close(): Promise<void>;
}

/** How every bank test ends: money is conserved (checkInvariants throws if not), then the bank is closed. */
export async function closeCheckingInvariants(t: TestBank): Promise<void> {
  try {
    await t.bank.checkInvariants();
  } finally {
    await t.close();
  }
}

/** A bank issuing 100, 200 and 500 (minor units) from fixture keys, on a temp dir, with a settable clock. */
export async function openTestBank(
  options: {
    values?: number[];
    dir?: string;
    keyStart?: number;
    bank?: Pick<BankServiceOptions, 'trustedTtps' | 'maxRevocationWindow' | 'webauthn'>;
    /** PostgreSQL (a schema's URL, test/helpers/engines.ts) instead of bank.sqlite in `dir`. */
    databaseUrl?: string;
    /** 'postgres': a fresh schema in the run's cluster. */
    engine?: EngineName;
  } = {},
): Promise<TestBank> {
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'semper-bank-'));
  const clock = { now: T0 };
  const databaseUrl = options.databaseUrl ?? (options.engine === 'postgres' ? await pgSchema('bank') : undefined);
  const bank = await BankService.open({
    dataDir: dir,
    ...(databaseUrl ? { databaseUrl } : {}),
    currency: CURRENCY,
    clock: () => clock.now,
    keyFactory: poolKeys(options.keyStart ?? 0),
    rotation: { values: options.values ?? [100, 200, 500] },
    ...options.bank,
  });
  return {
    bank,
    dir,
    location: { dataDir: dir, ...(databaseUrl ? { databaseUrl } : {}) },
    clock,
    set: async () => verifyDenominationList(await bank.denominationList(), { bankKeyId: bank.keyId }),
    async close() {
      await bank.close();
      if (!options.dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The bank tests' usual start: a test bank (SQLite unless `engine`), alice with `aliceFunds` (5,000) on her account, shop with nothing. */
export async function bankWithAliceAndShop(o: { engine?: EngineName; aliceFunds?: number } = {}): Promise<{ t: TestBank; alice: Customer; shop: Customer }> {
  const t = await openTestBank(o.engine ? { engine: o.engine } : {});
  return { t, alice: await customer(t.bank, o.aliceFunds ?? 5_000), shop: await customer(t.bank) };
}

/** Rows of a query on the bank's database, either engine (tests look at the tables). */
export async function bankRows<R = Record<string, unknown>>(bank: BankService, text: string): Promise<R[]> {
  return (await sql.raw<R>(text).execute(bank.database.db)).rows;
}

/** Statements run in one write transaction on the bank's database (tests that tamper with the tables). */
export async function bankExec(bank: BankService, ...statements: string[]): Promise<void> {
  await bank.database.write(async (tx) => {
    for (const text of statements) await sql.raw(text).execute(tx);
  });
}

export interface Customer {
  signer: Signer;
  account: string;
  keyId: string;
}

export async function customer(bank: BankService, funding = 0): Promise<Customer> {
  const s = await signer();
  const account = await bank.openAccount(s.publicJwk);
  if (funding > 0) await bank.fund(account, funding);
  return { signer: s, account, keyId: s.keyId };
}

/** The issuing denomination of `value` in `set`. */
export function denominationOf(set: DenominationSet, value: number, now = T0) {
  const d = [...set.byId.values()].find((x) => x.value.amount === value && x.validFrom <= now && now < x.withdrawUntil);
  if (!d) throw new Error(`no issuing denomination of ${value}`);
  return d;
}

export async function withdrawalRequest(who: Customer, secrets: CoinSecret[], requestId = randomId(16), now = T0): Promise<Statement> {
  return (await signStatement(
    {
      type: CASH_TYPES.withdrawalRequest,
      version: 1,
      dealId: requestId,
      issuedAt: nowIso(now),
      body: { requestId, account: who.account, coins: secrets.map((s) => ({ denominationId: s.denominationId, blindedMsg: s.blindedMsg })) },
    },
    who.signer,
  )) as Statement;
}

/** Finalise the coins of an issue answer. */
export async function finalizeAll(set: DenominationSet, secrets: CoinSecret[], answer: IssueAnswer): Promise<SpendableCoin[]> {
  const body = answer.receipt.body as unknown as IssueBody;
  return Promise.all(
    secrets.map(async (s, i) => ({ coin: await finalizeCoin(s, body.blindSignatures[i]!, set.byId.get(s.denominationId)!), privateJwk: s.privateJwk })),
  );
}

/** Withdraw coins of `values` for `who` straight through the service. */
export async function withdraw(t: TestBank, who: Customer, values: number[]): Promise<{ coins: SpendableCoin[]; secrets: CoinSecret[]; answer: IssueAnswer }> {
  const set = await t.set();
  const secrets = await Promise.all(values.map((v) => prepareCoin(denominationOf(set, v, t.clock.now))));
  const answer = await t.bank.withdraw(await withdrawalRequest(who, secrets, randomId(16), t.clock.now));
  return { coins: await finalizeAll(set, secrets, answer), secrets, answer };
}

export const dealId = (): string => `deal-${randomId(12)}`;

/** The typed error a call was refused with; fails the test when it succeeds or throws something untyped. */
export async function refused(p: Promise<unknown>): Promise<SemperError> {
  try {
    await p;
  } catch (e) {
    if (isSemperError(e)) return e;
    throw e;
  }
  throw new Error('expected a refusal');
}

/** The error code a promise is refused with ('accepted' if it is not): for tests that assert which check refused. */
export async function refusalCode(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    if (isSemperError(e)) return e.code;
    throw e;
  }
  return 'accepted';
}
