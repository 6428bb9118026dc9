/**
 * Exchange-enabling properties (paper §3.4): what a TTP can do with a transfer of an item.
 *   externally verifiable  the TTP can check that the transfer happened (it checks the item
 *                          against its description and re-sends it to the receiver);
 *   generatable            the TTP can produce an equivalent replacement (a signed affidavit
 *                          for a statement whose content the giver committed to in advance);
 *   revocable              the TTP can have the transfer undone (a revocation order the bank,
 *                          or the statement's own terms, honour until a stated time).
 * Properties are computed from *descriptions*, because both parties must agree on the protocol
 * before any item moves.
 */
import type { Description } from './schema.js';

export interface ExchangeProperties {
  verifiable: boolean;
  generatable: boolean;
  revocable: boolean;
  /** When revocable: the latest time (epoch ms) a revocation order is honoured; absent = unbounded. */
  revocableUntil?: number;
}

/** What each item kind can offer, and under which condition: the documented contract of the kinds. */
export const ITEM_KIND_PROPERTIES: Readonly<Record<Description['kind'], Readonly<Record<'verifiable' | 'generatable' | 'revocable', string>>>> = {
  information: {
    verifiable: 'always: the TTP checks the SHA-256 digest and re-sends the data',
    generatable: 'never: the TTP cannot make up the data',
    revocable: 'never: information cannot be taken back',
  },
  statement: {
    verifiable: 'always: anyone can check the signature and the content constraints',
    generatable:
      'when the exact body is fixed in the description (but for a secret sealed to the TTP) and the giver signs it itself: the TTP issues an affidavit (revealing the sealed secret)',
    revocable: 'when the description names revocableUntil: the statement is void on a TTP revocation order',
  },
  credential: {
    verifiable: 'always: the TTP validates the certificate chain',
    generatable: 'never: only the issuer can issue a certificate',
    revocable: 'never by the TTP',
  },
  money: {
    verifiable: 'always: the TTP checks the bank-signed proof (amount, payee, reference)',
    generatable: 'never: the TTP holds no money',
    revocable: 'account transfers with revocableUntil: the bank refunds on a TTP revocation order',
  },
  package: {
    verifiable: 'when every item is',
    generatable: 'when every item is',
    revocable: 'when every item is (until the earliest item window)',
  },
};

const NOTHING: ExchangeProperties = { verifiable: true, generatable: true, revocable: true };

/**
 * The properties of a transfer of an item matching `description`, given by the party whose
 * key id is `giverKeyId`.
 */
export function itemProperties(description: Description, giverKeyId: string): ExchangeProperties {
  switch (description.kind) {
    case 'information':
      return { verifiable: true, generatable: false, revocable: false };
    case 'statement': {
      const generatable = description.content !== undefined && 'keyId' in description.signer && description.signer.keyId === giverKeyId;
      const revocable = description.revocableUntil !== undefined;
      return { verifiable: true, generatable, revocable, ...(revocable ? { revocableUntil: description.revocableUntil } : {}) };
    }
    case 'credential':
      return { verifiable: true, generatable: false, revocable: false };
    case 'money': {
      const revocable = description.method === 'account' && description.revocableUntil !== undefined;
      return { verifiable: true, generatable: false, revocable, ...(revocable ? { revocableUntil: description.revocableUntil } : {}) };
    }
    case 'package':
      return description.items.map((d) => itemProperties(d, giverKeyId)).reduce(combineProperties, NOTHING);
  }
}

/** Both transfers together: a property holds only if it holds for both. */
export function combineProperties(a: ExchangeProperties, b: ExchangeProperties): ExchangeProperties {
  const revocable = a.revocable && b.revocable;
  const until = [a.revocableUntil, b.revocableUntil].filter((t): t is number => t !== undefined);
  return {
    verifiable: a.verifiable && b.verifiable,
    generatable: a.generatable && b.generatable,
    revocable,
    ...(revocable && until.length ? { revocableUntil: Math.min(...until) } : {}),
  };
}
