/**
 * What a verified statement proves, and what it does not, in plain words. Said once here for
 * every statement type Semper signs; `verifyBundle` attaches them to each statement it verified.
 * The words are about the signature alone: an arbiter (core/exchange/evidence.ts and the arbiter)
 * judges how statements fit together.
 */

export interface PlainWords {
  proves: string[];
  doesNotProve: string[];
}

type Words = { what: string; proves?: string[]; doesNotProve?: string[] };

const TABLE: Record<string, Words> = {
  'semper.offer': {
    what: 'an offer',
    proves: ['The signer offered these items, at these prices and terms, for this deal, until the offer expires.'],
    doesNotProve: ['That anyone accepted the offer.', 'That the goods exist or match their description.'],
  },
  'semper.fair.offer': {
    what: 'an offer for a fair purchase',
    proves: ['The signer offered these items, at these prices and terms, for this deal, with the payment methods named in it.'],
    doesNotProve: ['That anyone accepted the offer.', 'That the goods exist or match their description.'],
  },
  'semper.order': {
    what: 'an order',
    proves: ['The signer ordered what the offer it names describes (the offer is named by its digest).'],
    doesNotProve: ['That the signer paid.', 'That the merchant received the order.'],
  },
  'semper.order-confirmation': {
    what: 'an order confirmation',
    proves: ['The merchant accepted the order it names.'],
    doesNotProve: ['That the goods were delivered.', 'That payment was received.'],
  },
  'semper.receipt': {
    what: 'a receipt',
    proves: ['The signer acknowledged the payment or order it names, and states what was delivered (by digest).'],
    doesNotProve: ['That the delivered goods are good, only which bytes were delivered.'],
  },
  'semper.delivery': {
    what: 'a delivery note',
    proves: ['The signer states it delivered the goods with the digest it names.'],
    doesNotProve: ['That the shopper received them.', 'That the goods match the offer: compare the attachment with the offer.'],
  },
  'semper.goods.key': {
    what: 'a key for sealed goods',
    proves: ['The signer released this key for the sealed goods of this deal.'],
    doesNotProve: ['That the key opens goods matching the offer: open the attachment to see.'],
  },
  'semper.fair.start': { what: 'the start of a fair purchase', proves: ['The signer started a fair purchase with these terms.'] },
  'semper.exchange.descriptor': { what: 'an exchange descriptor', proves: ['The signer described the exchange (items, TTP, deadlines) it will take part in.'] },
  'semper.exchange.propose': {
    what: 'message m1 of a fair exchange',
    proves: ['The originator proposed this exchange to the responder it names, with its commitment, under the TTP it names.'],
    doesNotProve: ['That the responder agreed.', 'That any item was delivered.'],
  },
  'semper.exchange.accept': {
    what: 'message m2 of a fair exchange',
    proves: ['The responder accepted the proposal m1 it names (by digest), with its own commitment.'],
    doesNotProve: ['That the exchange completed: that needs m3 and m4, or a TTP resolution.'],
  },
  'semper.exchange.deliver': {
    what: 'message m3 or m4 of a fair exchange',
    proves: ['The signer released its item and the nonce opening its commitment, for the exchange it names.'],
    doesNotProve: ['That the other side received it.'],
  },
  'semper.exchange.abort-request': {
    what: 'an abort request',
    proves: ['The originator asked the TTP to abort the exchange it names.'],
    doesNotProve: ['That the TTP aborted it.'],
  },
  'semper.exchange.resolve-request': {
    what: 'a resolve request',
    proves: ['The signer asked the TTP to resolve the exchange it names.'],
    doesNotProve: ['That the TTP resolved it.'],
  },
  'semper.exchange.complaint': { what: 'a complaint', proves: ['The signer complained about the exchange it names, for the reason it gives.'] },
  'semper.ttp.affidavit': {
    what: 'a TTP affidavit',
    proves: ['The TTP affirms the fact it states about the exchange it names (it stands in for a missing signature).'],
    doesNotProve: ['Anything the TTP could not see: the quality of goods.'],
  },
  'semper.ttp.resolution': {
    what: 'a TTP resolution',
    proves: ['The TTP resolved the exchange it names: both sides are bound as if the exchange had completed.', 'The TTP will never abort this exchange.'],
    doesNotProve: ['That either side received its item: only that the TTP made it available.'],
  },
  'semper.ttp.abort-token': {
    what: 'a TTP abort token',
    proves: ['The TTP aborted the exchange it names and will never resolve it.'],
    doesNotProve: ['That no contract exists: a complete main-protocol transcript (m1..m4) overrules an abort token (core/exchange/evidence.ts).'],
  },
  'semper.ttp.sealing-key': { what: "the TTP's sealing key", proves: ['The TTP published this key for sealing requests to it.'] },
  'semper.ttp.revocation-order': { what: 'a TTP revocation order', proves: ['The TTP ordered the revocation it states.'] },
  'semper.payment.proof': {
    what: 'a payment proof',
    proves: ['The signer states it paid the amount it names for the deal it names.'],
    doesNotProve: ['That the money arrived: only a bank receipt says so.'],
  },
  'semper.cash.spend': {
    what: 'an e-cash spend',
    proves: ['The coins named were spent, to the payee and for the deal the statement names.'],
    doesNotProve: ['That the coins were not spent before: only the bank can say (its deposit receipt).'],
  },
  'semper.transfer': { what: 'a transfer', proves: ['The signer transferred the item it names to the party it names.'] },
  'semper.contract.signature': {
    what: 'a contract signature',
    proves: ['The signer signed the contract it names (by digest).'],
    doesNotProve: ['That the other party signed it too.'],
  },
  'semper.ca.revocation-request': { what: 'a revocation request', proves: ["The certificate's holder asked its CA to revoke it, for the reason given."] },
};

const BANK: Words = {
  what: 'a bank statement',
  proves: ['The bank states what the statement says (a transfer, deposit, cheque clearing, refund, …) for the accounts and amounts it names.'],
  doesNotProve: ['Anything about the goods of the deal.'],
};
const CARD: Words = {
  what: 'a card-payment statement',
  proves: ['The acquirer states the payment, receipt or refund it names.'],
  doesNotProve: ['Anything about the goods of the deal.'],
};

function wordsFor(type: string): Words | undefined {
  if (TABLE[type]) return TABLE[type];
  if (type.startsWith('semper.bank.')) return { ...BANK, what: `a bank statement (${type.slice('semper.bank.'.length)})` };
  if (type.startsWith('semper.card.')) return { ...CARD, what: `a card-payment statement (${type.slice('semper.card.'.length)})` };
  return undefined;
}

export interface SignerWords {
  /** "Fogra … (certified by Semper Test CA)", "the key <thumbprint>", "the security key <id>". */
  signer: string;
  certified: boolean;
  timeBasis: 'time-stamp' | 'issuedAt';
  time: string;
  userVerified?: boolean;
}

/** Plain words for one verified statement. */
export function plainWords(type: string, s: SignerWords): PlainWords {
  const w = wordsFor(type);
  const proves = [`${s.signer} signed ${w ? w.what : `a statement of type ${type}`}; it was not changed since.`, ...(w?.proves ?? [])];
  if (!w) proves.push(`What a ${type} statement means is not known to this verifier: read its body.`);
  if (s.userVerified === true) proves.push('The security key verified its user (PIN or biometrics) when signing.');
  const doesNotProve = [...(w?.doesNotProve ?? [])];
  if (!s.certified) doesNotProve.push("Who holds the key: it is not certified, so the signer's identity rests on other evidence in the deal.");
  if (s.userVerified === false) doesNotProve.push('That the holder of the security key was verified (only that someone touched it).');
  if (s.timeBasis === 'issuedAt') {
    doesNotProve.push(`When it was signed: ${s.time} is the signer's own claim (no time stamp).`);
  } else {
    proves.push(`It existed at ${s.time} (a time-stamp authority says so).`);
  }
  return { proves, doesNotProve };
}
