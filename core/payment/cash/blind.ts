/**
 * The wallet's blind-RSA arithmetic (RFC 9474, RSABSSA-SHA384-PSS-Randomized, through
 * @cloudflare/blindrsa-ts): blinding a coin's message for the bank, and unblinding the bank's
 * answer. Withdrawal: prepareCoin → the bank blind-signs → finalizeCoin. The bank only ever sees
 * the blinded message and returns the blind signature; finalizing unblinds it and checks the
 * result against the denomination key (RFC 9474 §4.4) before the coin is kept.
 *
 * Blinding draws its own randomness (blindrsa-ts calls crypto.getRandomValues for r and the
 * prefix): that is why prepareCoin runs in the host, outside any machine step, and its result comes
 * into the wallet machine in an event (wallet.ts) — a seeded source must never choose a blinding
 * factor. Unblinding is deterministic but is not done in a step either: the wallet machine asks its
 * host for it (an `unblind` send) so that the library stays out of the extension worker's start
 * bundle (issue 13); Node hosts answer with `unblindLocally`, the extension's worker through an
 * offscreen task (extension/offscreen). Either way the machine checks each coin against the
 * denomination key itself before keeping it (coin.ts verifyCoin).
 */
import { RSABSSA } from '@cloudflare/blindrsa-ts';
import { decodeBase64url, encodeBase64url } from '../../encoding/index.js';
import { isSemperError, SemperError } from '../../errors.js';
import { type Coin, type CoinSecret, coinMessage, newCoinKey, PREFIX_BYTES, signedMessage } from './coin.js';
import type { DenominationSet, VerifiedDenomination } from './denominations.js';
import type { UnblindSend, WalletReply } from './wallet.js';

/** RSABSSA-SHA384-PSS-Randomized (RFC 9474 §5: the recommended variant). */
export const CASH_SUITE = RSABSSA.SHA384.PSS.Randomized();

/** A coin message blinded for the bank: what the wallet keeps (`prefix`, `inv`) and what the bank signs (`blindedMsg`). */
export interface CoinBlinding {
  prefix: string;
  inv: string;
  blindedMsg: string;
}

/** Blind coin `coinId`'s message under the denomination key (real randomness: host side only). */
export async function blindCoin(publicKey: CryptoKey, denominationId: string, coinId: string): Promise<CoinBlinding> {
  const prepared = CASH_SUITE.prepare(coinMessage(denominationId, coinId));
  const { blindedMsg, inv } = await CASH_SUITE.blind(publicKey, prepared);
  return { prefix: encodeBase64url(prepared.slice(0, PREFIX_BYTES)), inv: encodeBase64url(inv), blindedMsg: encodeBase64url(blindedMsg) };
}

/** A fresh coin key and its blinded message for `denomination` (real randomness: host side only). */
export async function prepareCoin(denomination: VerifiedDenomination): Promise<CoinSecret> {
  const key = await newCoinKey();
  const blinding = await blindCoin(denomination.publicKey, denomination.id, key.coinId);
  return { denominationId: denomination.id, ...key, ...blinding };
}

/** What unblinding one coin needs: which message (denomination, coin, prefix) and the blinding's inverse. */
export interface UnblindInput {
  denominationId: string;
  coinId: string;
  prefix: string;
  inv: string;
}

/** The coin's signature from the bank's blind signature (RFC 9474 §4.4); ERR_SIGNATURE_INVALID if it does not finalize. */
export async function unblindSignature(publicKey: CryptoKey, input: UnblindInput, blindSignature: string): Promise<string> {
  try {
    const signature = await CASH_SUITE.finalize(
      publicKey,
      signedMessage(decodeBase64url(input.prefix), input.denominationId, input.coinId),
      decodeBase64url(blindSignature),
      decodeBase64url(input.inv),
    );
    return encodeBase64url(signature);
  } catch (e) {
    throw new SemperError(
      'ERR_SIGNATURE_INVALID',
      `RFC 9474 §4.4: the bank's blind signature does not finalize (${e instanceof Error ? e.message : String(e)})`,
    );
  }
}

/** Unblind the bank's answer and check it (RFC 9474 §4.4): a signature that does not verify is ERR_SIGNATURE_INVALID. */
export async function finalizeCoin(secret: CoinSecret, blindSignature: string, denomination: VerifiedDenomination): Promise<Coin> {
  if (denomination.id !== secret.denominationId) throw new SemperError('ERR_DENOMINATION', 'blind signature for another denomination');
  const signature = await unblindSignature(denomination.publicKey, secret, blindSignature);
  return { denominationId: secret.denominationId, publicJwk: secret.publicJwk, prefix: secret.prefix, signature };
}

/**
 * A Node host's answer to the wallet machine's `unblind` send: the coins' signatures, or the
 * refusal (ERR_SIGNATURE_INVALID: the bank's blind signature does not finalize) as an error reply.
 */
export async function unblindLocally(send: UnblindSend, denominations: DenominationSet): Promise<WalletReply> {
  try {
    const signatures: string[] = [];
    for (const c of send.coins) {
      const d = denominations.byId.get(c.denominationId);
      if (!d) throw new SemperError('ERR_DENOMINATION', `unknown denomination ${c.denominationId}`);
      signatures.push(await unblindSignature(d.publicKey, c, c.blindSignature));
    }
    return { kind: 'response', body: { signatures } };
  } catch (e) {
    if (!isSemperError(e)) throw e;
    return { kind: 'error', error: { code: e.code, message: e.message } };
  }
}
