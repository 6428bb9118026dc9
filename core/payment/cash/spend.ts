/**
 * Spending a coin: a `semper.cash.spend` statement signed by the coin's own key, binding the coin
 * to one payee (its key id), one reference (the deal id) and the coin's value:
 *
 *   { type: 'semper.cash.spend', dealId: reference, body: { coin, value, payee, reference, outputs? },
 *     signature: { alg: 'ES256', signer: { kind: 'jwk', jwk: coin.publicJwk }, value } }
 *
 * Nobody but the coin's holder can make one (the coin key signs it), and it is worth something only
 * to the payee it names for the reference it names: a merchant cannot deposit a spend made out to
 * another merchant, nor present it as payment for another deal. In a refresh the payee is the bank
 * and `outputs` is the digest of the new blinded coins, so nobody can redirect a refresh's value.
 * The bank's deposit (server/bank) turns a spend into money; a second deposit of the same coin is
 * ERR_DOUBLE_SPEND with this statement of the first deposit as proof.
 */
import { z } from '../../zod.js';
import type { Signer } from '../../crypto/keys.js';
import { canonicalJson } from '../../encoding/index.js';
import { SemperError } from '../../errors.js';
import { Amount, Digest } from '../../items/schema.js';
import { nowIso, signStatement, type Statement, verifyStatement } from '../../statements/index.js';
import { Coin, coinIdOf, coinSigningKey, verifyCoin } from './coin.js';
import { type DenominationSet, type DenominationUse, requireDenomination, type VerifiedDenomination } from './denominations.js';
import { jwkThumbprint, type PublicJwk } from '../../crypto/jwk.js';

export const SPEND_TYPE = 'semper.cash.spend';

export const SpendBody = z.strictObject({
  coin: Coin,
  value: Amount,
  payee: Digest,
  reference: z.string().check(z.minLength(8), z.maxLength(128)),
  /** Refresh only: digest (core/encoding digestJson) of the new blinded coins the value goes to. */
  outputs: z.optional(Digest),
});
export type SpendBody = z.infer<typeof SpendBody>;

export interface SpendableCoin {
  coin: Coin;
  privateJwk: JsonWebKey;
}

/** Sign a spend of `coin` to `payee` for `reference`. */
export async function signSpend(
  held: SpendableCoin,
  value: Amount,
  to: { payee: string; reference: string; outputs?: string; now: number },
): Promise<Statement<SpendBody>> {
  const privateKey = await coinSigningKey(held.privateJwk);
  const publicJwk = held.coin.publicJwk as PublicJwk;
  const signer: Signer = {
    alg: 'ES256',
    publicJwk,
    keyId: await jwkThumbprint(publicJwk),
    sign: async (data) => new Uint8Array(await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, privateKey, data)),
  };
  const body: SpendBody = {
    coin: held.coin,
    value,
    payee: to.payee,
    reference: to.reference,
    ...(to.outputs !== undefined ? { outputs: to.outputs } : {}),
  };
  return signStatement({ type: SPEND_TYPE, version: 1, dealId: to.reference, issuedAt: nowIso(to.now), body }, signer);
}

export interface VerifiedSpend {
  statement: Statement<SpendBody>;
  body: SpendBody;
  coinId: string;
  denomination: VerifiedDenomination;
}

export interface SpendExpectations {
  denominations: DenominationSet;
  now: number;
  /** 'spend' for a payee (spendUntil), 'deposit' for the bank (depositUntil). */
  use: DenominationUse;
  payee?: string;
  reference?: string;
  outputs?: string;
}

/**
 * Check a spend: its shape; the coin key's signature over it; the bank's signature on the coin;
 * the denomination known and valid for `use` at `now`; the value the denomination's; and, where
 * given, the payee, reference and outputs it is bound to.
 */
export async function verifySpend(statement: unknown, expect: SpendExpectations): Promise<VerifiedSpend> {
  const verified = await verifyStatement<SpendBody>(statement, { types: [SPEND_TYPE] });
  const parsed = SpendBody.safeParse(verified.statement.body);
  if (!parsed.success)
    throw new SemperError('ERR_SCHEMA', `spend: ${parsed.error.issues[0]?.path.join('.') ?? '$'}: ${parsed.error.issues[0]?.message ?? 'malformed'}`);
  const body = parsed.data;
  if (verified.statement.signature.signer.kind !== 'jwk' || canonicalJson(verified.signerJwk) !== canonicalJson(body.coin.publicJwk)) {
    throw new SemperError('ERR_SIGNATURE_INVALID', 'spend is not signed by the coin it spends');
  }
  if (verified.statement.dealId !== body.reference) throw new SemperError('ERR_SCHEMA', 'spend: dealId and reference differ');
  const denomination = requireDenomination(expect.denominations, body.coin.denominationId, expect.use, expect.now);
  if (body.value.amount !== denomination.value.amount || body.value.currency !== denomination.value.currency) {
    throw new SemperError(
      'ERR_DENOMINATION',
      `spend claims ${body.value.amount} ${body.value.currency}, the coin is worth ${denomination.value.amount} ${denomination.value.currency}`,
    );
  }
  const coinId = await coinIdOf(body.coin);
  if (!(await verifyCoin(body.coin, denomination, coinId))) throw new SemperError('ERR_SIGNATURE_INVALID', "the bank's signature on the coin does not verify");
  if (expect.payee !== undefined && body.payee !== expect.payee)
    throw new SemperError('ERR_ITEM_MISMATCH', `spend is made out to ${body.payee}, not ${expect.payee}`);
  if (expect.reference !== undefined && body.reference !== expect.reference)
    throw new SemperError('ERR_ITEM_MISMATCH', `spend references ${body.reference}, not ${expect.reference}`);
  if (expect.outputs !== body.outputs) throw new SemperError('ERR_ITEM_MISMATCH', 'spend is bound to other outputs');
  return { statement: verified.statement, body, coinId, denomination };
}
