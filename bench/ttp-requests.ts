/** Distinct TTP abort requests (m1 + the originator's abort request), each one a decision, for the TTP bench. */
import { generateKeyPair, signerFromKeyPair, type Signer } from '../core/crypto/index.js';
import { randomId } from '../core/encoding/index.js';
import { EXCHANGE_TYPES, type ProposeBody } from '../core/exchange/index.js';
import type { Description } from '../core/items/index.js';
import { canonicalStatementDigest, nowIso, signStatement, type Statement } from '../core/statements/index.js';
import { DEFAULT_ATTRIBUTES } from '../core/transfer/index.js';

async function signed(signer: Signer, type: string, dealId: string, body: Record<string, unknown>, now: number): Promise<Statement> {
  return (await signStatement({ type, version: 1, dealId, issuedAt: nowIso(now), body }, signer)) as Statement;
}

export async function abortRequests(ttpKeyId: string, count: number, now = Date.now()): Promise<Statement[]> {
  return (await exchanges(ttpKeyId, count, now, false)).map((e) => e.abort);
}

/** One contract-signing exchange as the TTP sees it in a race: the originator's abort and the responder's resolve. */
export interface ConflictingRequests {
  exchangeId: string;
  abort: Statement;
  resolve: Statement;
}

/**
 * Exchanges whose originator asks to abort while the responder asks to resolve (m2 accepted m1):
 * the TTP must answer every request of one exchange with the one decision it made first.
 */
export async function conflictingRequests(ttpKeyId: string, count: number, now = Date.now()): Promise<ConflictingRequests[]> {
  return (await exchanges(ttpKeyId, count, now, true)) as ConflictingRequests[];
}

async function exchanges(
  ttpKeyId: string,
  count: number,
  now: number,
  withResolve: boolean,
): Promise<{ exchangeId: string; abort: Statement; resolve?: Statement }[]> {
  const [o, r] = await Promise.all([
    generateKeyPair('ES256').then((k) => signerFromKeyPair('ES256', k)),
    generateKeyPair('ES256').then((k) => signerFromKeyPair('ES256', k)),
  ]);
  const dealId = `bench-deal-${randomId(8)}`;
  const sig = (keyId: string): Description => ({
    kind: 'statement',
    type: 'semper.contract.signature',
    signer: { keyId },
    content: { body: { contract: 'bench contract' } },
  });
  const out: { exchangeId: string; abort: Statement; resolve?: Statement }[] = [];
  for (let i = 0; i < count; i++) {
    const body: ProposeBody = {
      protocol: 'contract-signing',
      exchangeNonce: randomId(32),
      originator: { keyId: o.keyId },
      responder: { keyId: r.keyId },
      ttp: { keyId: ttpKeyId },
      originatorGives: sig(o.keyId),
      responderGives: sig(r.keyId),
      originatorAttributes: DEFAULT_ATTRIBUTES,
      responderAttributes: DEFAULT_ATTRIBUTES,
      deadline: now + 3_600_000,
      commitment: randomId(32),
    };
    const m1 = await signed(o, EXCHANGE_TYPES.propose, dealId, body, now);
    const exchangeId = await canonicalStatementDigest(m1);
    const abort = await signed(o, EXCHANGE_TYPES.abortRequest, dealId, { exchangeId, m1 }, now);
    if (!withResolve) {
      out.push({ exchangeId, abort });
      continue;
    }
    const m2 = await signed(r, EXCHANGE_TYPES.accept, dealId, { exchangeId, commitment: randomId(32) }, now);
    out.push({ exchangeId, abort, resolve: await signed(r, EXCHANGE_TYPES.resolveRequest, dealId, { exchangeId, m1, m2 }, now) });
  }
  return out;
}
