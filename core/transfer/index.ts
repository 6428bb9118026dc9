/**
 * Transfers (paper §2.1, §3.3): one party sends a package of business items to another, with
 * security attributes both sides can require. A transfer's exchange-enabling properties are the
 * item kinds' properties (core/items) as restricted by its attributes; the exchange manager
 * negotiates a fair exchange protocol from the two transfers' properties.
 *
 * Attributes and what they mean here:
 *   confidentiality  'none' | 'channel' (TLS/extension port; the TTP may see the items when it
 *                    steps in) | 'end-to-end' (nobody else, the TTP included, may see them: such a
 *                    transfer is neither externally verifiable nor generatable by the TTP).
 *   nonRepudiationOfOrigin   the sender signs: every exchange message is a signed statement, so
 *                    this always holds inside an exchange; a plain transfer is a signed statement.
 *   nonRepudiationOfReceipt  the sender wants a receipt: the transfer must run as an exchange of
 *                    the package for a receipt (certified mail; `receiptDescription`).
 *   anonymity        the sender stays anonymous towards the receiver: only pseudonymous
 *                    (bare-key) signatures and anonymous payment methods (cash) qualify.
 */
import { z } from '../zod.js';
import { SemperError } from '../errors.js';
import type { Signer } from '../crypto/keys.js';
import { jwkThumbprint } from '../crypto/jwk.js';
import type { JsonValue } from '../encoding/canonical-json.js';
import { nowIso, signStatement, verifyStatement, type SignerRef, type Statement, type VerifyOptions } from '../statements/index.js';
import { combineProperties, itemProperties, parseItem, type Description, type ExchangeProperties, type Item } from '../items/index.js';
import { Digest } from '../items/schema.js';

export const SecurityAttributes = z.strictObject({
  confidentiality: z.enum(['none', 'channel', 'end-to-end']),
  nonRepudiationOfOrigin: z.boolean(),
  nonRepudiationOfReceipt: z.boolean(),
  anonymity: z.boolean(),
});
export type SecurityAttributes = z.infer<typeof SecurityAttributes>;

export const DEFAULT_ATTRIBUTES: SecurityAttributes = {
  confidentiality: 'channel',
  nonRepudiationOfOrigin: true,
  nonRepudiationOfReceipt: false,
  anonymity: false,
};

/** One side of an exchange (or a plain transfer): who gives what, under which attributes. */
export interface Transfer {
  /** RFC 7638 thumbprint of the giver's signing key */
  giver: string;
  gives: Description;
  attributes: SecurityAttributes;
}

/** Refuse attribute combinations no implementation can honour. Names the rule that breaks. */
export function checkTransfer(t: Transfer): void {
  if (t.attributes.anonymity)
    walk(t.gives, (d) => {
      if (d.kind === 'statement' && 'certified' in d.signer) {
        throw new SemperError('ERR_SCHEMA', 'anonymity: a statement signed by a certified key identifies its sender');
      }
      if (d.kind === 'credential') throw new SemperError('ERR_SCHEMA', 'anonymity: a credential identifies its holder');
      if (d.kind === 'money' && d.method !== 'cash')
        throw new SemperError('ERR_SCHEMA', `anonymity: ${d.method} payments identify the payer; only cash is anonymous`);
    });
}

function walk(d: Description, f: (d: Description) => void): void {
  f(d);
  if (d.kind === 'package') for (const c of d.items) walk(c, f);
}

/** The exchange-enabling properties of a transfer: its items' properties under its attributes. */
export function transferProperties(t: Transfer): ExchangeProperties {
  checkTransfer(t);
  const p = itemProperties(t.gives, t.giver);
  if (t.attributes.confidentiality === 'end-to-end') {
    // The TTP would have to see the items to check or re-create them.
    return combineProperties(p, { verifiable: false, generatable: false, revocable: true });
  }
  return p;
}

/**
 * The receipt a sender asks for under non-repudiation of receipt: a statement of type
 * `semper.receipt` signed by the receiver, whose body is fixed in advance (so it is generatable
 * and the exchange "information for receipt" is fair: certified mail).
 */
export function receiptDescription(params: { receiver: string; dealId: string; received: Description; sender: string }): Description {
  return {
    kind: 'statement',
    type: 'semper.receipt',
    signer: { keyId: params.receiver },
    dealId: params.dealId,
    content: { body: { received: params.received as unknown as JsonValue, sender: params.sender, receiver: params.receiver } },
  };
}

// --- plain transfers (no fairness): one signed statement carrying the package -----------------

export const TRANSFER_TYPE = 'semper.transfer';
export const TransferBody = z.strictObject({
  from: Digest,
  to: Digest,
  attributes: SecurityAttributes,
  item: z.unknown(),
});

/** Sign a transfer of `item` (non-repudiation of origin). */
export async function signTransfer(
  p: { dealId: string; to: string; item: Item; attributes?: SecurityAttributes; now: number },
  signer: Signer,
  signerRef?: SignerRef,
): Promise<Statement> {
  const attributes = p.attributes ?? DEFAULT_ATTRIBUTES;
  const body = { from: signer.keyId, to: p.to, attributes, item: parseItem(p.item) };
  return signStatement(
    { type: TRANSFER_TYPE, version: 1, dealId: p.dealId, issuedAt: nowIso(p.now), body },
    signer,
    signerRef ? { signerRef } : {},
  ) as Promise<Statement>;
}

/** Verify a transfer addressed to `me`; returns the sender's key id and the item. */
export async function openTransfer(input: unknown, me: string, options: VerifyOptions = {}): Promise<{ from: string; item: Item; statement: Statement }> {
  const verified = await verifyStatement(input, { ...options, types: [TRANSFER_TYPE] });
  const body = TransferBody.safeParse(verified.statement.body);
  if (!body.success) throw new SemperError('ERR_SCHEMA', 'transfer: malformed body');
  const signerKeyId = await jwkThumbprint(verified.signerJwk);
  if (signerKeyId !== body.data.from) throw new SemperError('ERR_SIGNATURE_INVALID', 'transfer: signed by a key other than the one it names as sender');
  if (body.data.to !== me) throw new SemperError('ERR_PROTOCOL_STATE', 'transfer: addressed to another party');
  return { from: body.data.from, item: parseItem(body.data.item), statement: verified.statement };
}
