/**
 * Cash (issue 9): the bank's withdraw and deposit, and the wallet's spend, per second, each with its
 * ratio to the raw cryptography it needs, measured in the same run on the same keys:
 *
 *   withdraw (1 coin)  1 blind RSA signature (RSASP1 + the RFC 9474 §4.3 check) + 1 ES256 verify
 *                      (the request) + 1 ES256 sign (the receipt) + the SQLite transaction
 *   spend              1 ES256 sign by the coin key (plus importing the coin's JWK key)
 *   deposit (1 coin)   1 RSA-PSS verify (the coin) + 1 ES256 verify (the spend) + 2 ES256 signs
 *                      (receipt, payment proof) + the SQLite transaction
 *   wallet             prepare (coin key + blindrsa-ts blind) and finalize (unblind + verify)
 *   transfer           1 ES256 verify (the order) + 2 ES256 signs (receipt, payment proof) + the
 *                      SQLite transaction (balance and held amount re-checked inside it)
 *   cheque clearing    2 ES256 verifies (presentment, cheque) + 2 ES256 signs + the transaction
 *
 * The bank is in process (no HTTP), on a SQLite file. Withdrawals blind-sign random messages below
 * the modulus (the bank cannot tell them from real ones); deposit coins are minted straight with the
 * denomination key (RSASSA-PSS, SHA-384, salt 48: the very signature a finalized blind coin has),
 * because the wallet's blinding in pure JavaScript (~0.2 s a coin) would dominate the setup.
 */
import { sql } from 'kysely';
import { constants, createPrivateKey, randomBytes, sign as nodeSign } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPair, signerFromKeyPair, toPublicJwk, verifyRaw } from '../core/crypto/index.js';
import { canonicalBytes, decodeBase64url, encodeBase64url, randomId } from '../core/encoding/index.js';
import {
  CASH_TYPES,
  type Coin,
  coinMessage,
  finalizeCoin,
  prepareCoin,
  type SpendableCoin,
  signSpend,
  verifyCoin,
  verifyDenominationList,
} from '../core/payment/cash/index.js';
import { jwkThumbprint } from '../core/crypto/jwk.js';
import { transferOrder } from '../core/payment/account/index.js';
import { cheque, presentCheque } from '../core/payment/cheque/index.js';
import { deviceKeySigner } from '../core/payment/signing.js';
import { nowIso, signStatement, type Statement } from '../core/statements/index.js';
import { BankService, DenominationKey } from '../server/bank/index.js';
import { fmt } from './harness.js';

export interface BenchPaymentOptions {
  withdrawals?: number;
  deposits?: number;
  walletCoins?: number;
  /** Account transfers and cheque clearings measured (each). */
  transfers?: number;
}

async function rate(n: number, op: (i: number) => Promise<unknown> | unknown): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await op(i);
  return n / ((performance.now() - t0) / 1000);
}

/**
 * Rates of several operations measured in alternating rounds (a slice of each per round), so that a
 * shared machine's changing load falls on all of them alike and their ratios stay meaningful.
 * Operation `k` is called with 0, 1, 2, … across the rounds.
 */
async function paired(n: number, ops: Record<string, (i: number) => Promise<unknown> | unknown>, rounds = 10): Promise<Record<string, number>> {
  const names = Object.keys(ops);
  const spent: Record<string, number> = Object.fromEntries(names.map((k) => [k, 0]));
  const per = Math.ceil(n / rounds);
  for (let r = 0; r < rounds; r++) {
    for (const k of names) {
      const t0 = performance.now();
      for (let i = r * per; i < Math.min(n, (r + 1) * per); i++) await ops[k]!(i);
      spent[k]! += performance.now() - t0;
    }
  }
  return Object.fromEntries(names.map((k) => [k, n / (spent[k]! / 1000)]));
}

export async function benchPayment(options: BenchPaymentOptions = {}): Promise<string[]> {
  const withdrawals = options.withdrawals ?? 400;
  // Minted coins stand for coins the withdrawals paid for: never more of them (checkInvariants would say so).
  const deposits = Math.min(options.deposits ?? 400, withdrawals);
  const walletCoins = options.walletCoins ?? 20;
  const dir = mkdtempSync(join(tmpdir(), 'semper-bench-bank-'));
  const bank = await BankService.open({ dataDir: dir, rotation: { values: [100] } });
  try {
    const now = Date.now();
    const set = await verifyDenominationList(await bank.denominationList(), { bankKeyId: bank.keyId });
    const d = [...set.byId.values()][0]!;
    // The same denomination key as the bank holds, read from its file (bench only).
    const row = (await sql`SELECT * FROM denominations WHERE id = ${d.id}`.execute(bank.database.db)).rows[0] as ConstructorParameters<
      typeof DenominationKey
    >[0];
    const key = new DenominationKey(row);
    const rsaPrivate = createPrivateKey({ key: row.pkcs8, format: 'der', type: 'pkcs8' });
    const holder = await signerFromKeyPair('ES256', await generateKeyPair('ES256'));
    const shop = await signerFromKeyPair('ES256', await generateKeyPair('ES256'));
    const account = await bank.openAccount(holder.publicJwk);
    await bank.openAccount(shop.publicJwk);
    await bank.fund(account, 100 * (withdrawals + 10));

    // Random blinded messages below the modulus (top byte 0).
    const blinded = (): string => {
      const m = randomBytes(256);
      m[0] = 0;
      return encodeBase64url(m);
    };
    const requests: Statement[] = [];
    for (let i = 0; i < withdrawals + 5; i++) {
      const requestId = randomId(16);
      requests.push(
        (await signStatement(
          {
            type: CASH_TYPES.withdrawalRequest,
            version: 1,
            dealId: requestId,
            issuedAt: nowIso(now),
            body: { requestId, account, coins: [{ denominationId: d.id, blindedMsg: blinded() }] },
          },
          holder,
        )) as Statement,
      );
    }
    const sample = canonicalBytes(requests[0]);
    const sampleSig = await holder.sign(sample);
    // Warm up every path once (JIT, key imports).
    await bank.withdraw(requests[withdrawals]!);
    key.blindSign(decodeBase64url(blinded()));
    const w = await paired(withdrawals, {
      withdraw: (i) => bank.withdraw(requests[i]!),
      blind: () => key.blindSign(decodeBase64url(blinded())),
      sign: () => holder.sign(sample),
      verify: () => verifyRaw('ES256', holder.publicJwk, sample, sampleSig),
    });
    const [withdrawRate, rawBlind, rawEs256Sign, rawEs256Verify] = [w.withdraw!, w.blind!, w.sign!, w.verify!];
    const withdrawFloor = 1 / (1 / rawBlind + 1 / rawEs256Sign + 1 / rawEs256Verify);

    // Coins minted with the denomination key: exactly what a finalized blind coin is.
    const coins: SpendableCoin[] = [];
    for (let i = 0; i < deposits + 5; i++) {
      const pair = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify'])) as CryptoKeyPair;
      const privateJwk = await crypto.subtle.exportKey('jwk', pair.privateKey);
      const publicJwk = toPublicJwk(await crypto.subtle.exportKey('jwk', pair.publicKey)) as Coin['publicJwk'];
      const prefix = randomBytes(32);
      const message = Buffer.concat([prefix, coinMessage(d.id, await jwkThumbprint(publicJwk))]);
      const signature = nodeSign('sha384', message, { key: rsaPrivate, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 48 });
      coins.push({ coin: { denominationId: d.id, publicJwk, prefix: encodeBase64url(prefix), signature: encodeBase64url(signature) }, privateJwk });
    }
    const spends: Statement[] = [];
    const spendRates = await paired(deposits, {
      spend: async (i) => {
        spends[i] = (await signSpend(coins[i]!, d.value, { payee: shop.keyId, reference: `bench-deal-${i}-${randomId(8)}`, now })) as Statement;
      },
      sign: () => holder.sign(sample),
    });
    const spendRate = spendRates.spend!;
    const rawSpendSign = spendRates.sign!;
    const dr = await paired(deposits, {
      deposit: (i) => bank.deposit({ spends: [spends[i]!] }),
      rsa: (i) => verifyCoin(coins[i]!.coin, d),
      verify: () => verifyRaw('ES256', holder.publicJwk, sample, sampleSig),
      sign: () => holder.sign(sample),
    });
    const [depositRate, rawRsaVerify, depVerify, depSign] = [dr.deposit!, dr.rsa!, dr.verify!, dr.sign!];
    const depositFloor = 1 / (1 / rawRsaVerify + 1 / depVerify + 2 / depSign);

    // The wallet's side (blindrsa-ts in pure JavaScript).
    const secrets = await Promise.all(Array.from({ length: walletCoins }, () => prepareCoin(d)));
    const prepareRate = await rate(walletCoins, () => prepareCoin(d));
    const signatures = secrets.map((s) => key.blindSign(decodeBase64url(s.blindedMsg)) as Uint8Array<ArrayBuffer>);
    const finalizeRate = await rate(walletCoins, (i) => finalizeCoin(secrets[i]!, encodeBase64url(signatures[i]!), d));
    await bank.checkInvariants();

    return [
      `withdraw (1 coin, in process):      ${fmt(withdrawRate)} /s`,
      `  raw blind RSA signs (RSASP1 + check): ${fmt(rawBlind)} /s; ratio withdraw / blind signs: ${(withdrawRate / rawBlind).toFixed(3)}`,
      `  raw floor (blind sign + ES256 verify + ES256 sign): ${fmt(withdrawFloor)} /s; ratio: ${(withdrawRate / withdrawFloor).toFixed(3)}`,
      `spend (coin key signs):             ${fmt(spendRate)} /s`,
      `  raw ES256 signs: ${fmt(rawSpendSign)} /s; ratio spend / ES256 signs: ${(spendRate / rawSpendSign).toFixed(3)}`,
      `deposit (1 coin, in process):       ${fmt(depositRate)} /s`,
      `  raw RSA-PSS verifies: ${fmt(rawRsaVerify)} /s; raw ES256 verifies: ${fmt(depVerify)} /s`,
      `  raw floor (RSA-PSS verify + ES256 verify + 2 ES256 signs): ${fmt(depositFloor)} /s; ratio deposit / floor: ${(depositRate / depositFloor).toFixed(3)}`,
      `wallet: prepare (key + blind, blindrsa-ts) ${fmt(prepareRate)} /s; finalize (unblind + verify) ${fmt(finalizeRate)} /s`,
      ...(await benchTransfersAndCheques(bank, holder, shop, options.transfers ?? 300, now)),
    ];
  } finally {
    await bank.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Account transfers and cheque clearings, in process, paired round by round with their raw ES256 operations. */
async function benchTransfersAndCheques(
  bank: BankService,
  payer: Awaited<ReturnType<typeof signerFromKeyPair>>,
  payee: Awaited<ReturnType<typeof signerFromKeyPair>>,
  n: number,
  now: number,
): Promise<string[]> {
  const account = (await bank.accountOfKey(payer.keyId))!;
  await bank.fund(account, 2 * (n + 5) * 100);
  const sign = deviceKeySigner(payer);
  const orders: Statement[] = [];
  const presentments: Statement[] = [];
  for (let i = 0; i < n + 1; i++) {
    const reference = `bench-deal-${randomId(9)}`;
    orders.push(
      await sign(
        transferOrder({ requestId: randomId(16), payer: account, payee: payee.keyId, amount: { amount: 100, currency: bank.currency }, reference, now }),
      ),
    );
    const c = await sign(
      cheque({
        drawer: account,
        serial: randomId(9),
        payee: payee.keyId,
        amount: { amount: 100, currency: bank.currency },
        reference,
        expiresAt: now + 86_400_000,
        now,
      }),
    );
    presentments.push(await presentCheque(c, deviceKeySigner(payee), now));
  }
  const sample = canonicalBytes(orders[0]);
  const sampleSig = await payer.sign(sample);
  await bank.transfer(orders[n]!);
  await bank.presentCheque(presentments[n]!);
  const r = await paired(n, {
    transfer: (i) => bank.transfer(orders[i]!),
    clear: (i) => bank.presentCheque(presentments[i]!),
    sign: () => payer.sign(sample),
    verify: () => verifyRaw('ES256', payer.publicJwk, sample, sampleSig),
  });
  const [transferRate, clearRate, rawSign, rawVerify] = [r.transfer!, r.clear!, r.sign!, r.verify!];
  const transferFloor = 1 / (1 / rawVerify + 2 / rawSign);
  const clearFloor = 1 / (2 / rawVerify + 2 / rawSign);
  await bank.checkInvariants();
  return [
    `transfer (in process):              ${fmt(transferRate)} /s`,
    `  raw ES256 signs ${fmt(rawSign)} /s, verifies ${fmt(rawVerify)} /s; floor (verify + 2 signs): ${fmt(transferFloor)} /s; ratio: ${(transferRate / transferFloor).toFixed(3)}`,
    `cheque clearing (in process):       ${fmt(clearRate)} /s`,
    `  floor (2 verifies + 2 signs): ${fmt(clearFloor)} /s; ratio: ${(clearRate / clearFloor).toFixed(3)}`,
  ];
}
