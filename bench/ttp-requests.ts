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
  const out: Statement[] = [];
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
    out.push(await signed(o, EXCHANGE_TYPES.abortRequest, dealId, { exchangeId: await canonicalStatementDigest(m1), m1 }, now));
  }
  return out;
}
