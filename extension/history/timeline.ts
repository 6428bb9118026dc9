/**
 * A deal's archived statements as a timeline (issue 12): who sent what to whom, when, and the key
 * it was verified against. Each archived statement becomes one event; the popup draws one arrow
 * per event between the parties' lifelines (popup/Timeline.tsx) and lists the same as text.
 *
 * The sender is the signer: the shopper for what it sent; for what it received, the role in the
 * signer's certificate (OU semper-<role>, core/pki) when it is certified, else the statement
 * type's family (semper.ttp.* the TTP, semper.bank.* / semper.payment.* the bank, …). The
 * receiver of what the shopper sent follows from the type (abort and resolve requests and
 * complaints go to the TTP; everything else to the merchant).
 *
 * Order: the archive's own order (archivedAt, the shopper's clock, causal), then within one step
 * the protocol's order of types (a statement type both ways: the shopper's first), then issuedAt. `at` is the statement's signed issuedAt.
 */
import { jwkThumbprint } from '../../core/crypto/jwk.js';
import { readCertificate } from '../../core/pki/certificates.js';
import type { Statement } from '../../core/statements/index.js';

export const PARTIES = ['shopper', 'merchant', 'ttp', 'bank', 'arbiter', 'tsa'] as const;
export type Party = (typeof PARTIES)[number];

/** What the statement's signature was verified against. */
export type VerifiedAgainst =
  | { kind: 'certificate'; commonName: string; issuer: string; fingerprint: string; role?: string }
  | { kind: 'key'; keyId: string }
  | { kind: 'webauthn'; credentialId: string; rpId: string; keyId: string }
  | { kind: 'unreadable' };

export interface TimelineEvent {
  /** the statement's issuedAt (signed) */
  at: string;
  /** when the shopper archived it */
  archivedAt: string;
  from: Party;
  to: Party;
  direction: 'sent' | 'received';
  type: string;
  /** the type in plain (English) words; the popup shows its own translation by `type` */
  label: string;
  digest: string;
  verifiedAgainst: VerifiedAgainst;
}

export interface Timeline {
  /** The parties that appear, in the fixed order of the lifelines (shopper first). */
  parties: Party[];
  events: TimelineEvent[];
}

/** What the timeline needs of an archive entry (extension/deals/records.ts ArchiveEntry). */
export interface TimelineInput {
  direction: 'sent' | 'received';
  type: string;
  digest: string;
  archivedAt: number;
  statement: Statement<unknown>;
}

/** Known types: plain words and the protocol's order within one step. */
export const STATEMENT_LABELS: Record<string, string> = {
  'semper.offer': 'offer',
  'semper.order': 'signed order',
  'semper.order-confirmation': 'order confirmation',
  'semper.delivery': 'delivery',
  'semper.exchange.descriptor': 'exchange offer',
  'semper.fair.offer': 'offer',
  'semper.fair.start': 'purchase request',
  'semper.exchange.propose': 'proposal',
  'semper.exchange.accept': 'acceptance',
  'semper.exchange.deliver': 'item handed over',
  'semper.payment.proof': 'proof of payment',
  'semper.goods.key': 'key to the goods',
  'semper.exchange.abort-request': 'abort request',
  'semper.exchange.resolve-request': 'resolve request',
  'semper.exchange.complaint': 'complaint',
  'semper.ttp.abort-token': 'abort token',
  'semper.ttp.revocation-order': 'revocation order',
  'semper.ttp.resolution': 'resolution',
  'semper.ttp.affidavit': 'affidavit',
  'semper.arbiter.complaint': 'complaint to the arbiter',
  'semper.arbiter.verdict': 'verdict',
};
const ORDER = Object.keys(STATEMENT_LABELS);

/** Plain words for a statement type: the known label, else the type's last part with spaces. */
export function statementLabel(type: string): string {
  return STATEMENT_LABELS[type] ?? (type.split('.').pop() ?? type).replace(/[-_]/g, ' ');
}

function partyOfType(type: string): Party | undefined {
  if (
    type.startsWith('semper.ttp.') ||
    type === 'semper.exchange.abort-request' ||
    type === 'semper.exchange.resolve-request' ||
    type === 'semper.exchange.complaint'
  )
    return 'ttp';
  if (/^semper\.(bank|payment|cash|card|cheque)\./.test(type)) return 'bank';
  if (type.startsWith('semper.arbiter.')) return 'arbiter';
  if (type.startsWith('semper.tsa.') || type.startsWith('semper.timestamp')) return 'tsa';
  return undefined;
}

const isParty = (role: string | undefined): role is Party => (PARTIES as readonly string[]).includes(role ?? '');

/** The signer of a statement, as shown ("verified against"), and the party its certificate names. */
export async function signerOf(statement: Statement<unknown>): Promise<{ verifiedAgainst: VerifiedAgainst; role?: Party }> {
  const signer = statement.signature.signer;
  try {
    if (signer.kind === 'x509') {
      const leaf = await readCertificate(signer.chain[0]!);
      const issuerCn = /(?:^|,\s*)CN=([^,]+)/.exec(leaf.issuer)?.[1] ?? leaf.issuer;
      return {
        verifiedAgainst: {
          kind: 'certificate',
          commonName: leaf.commonName,
          issuer: issuerCn,
          fingerprint: leaf.fingerprint,
          ...(leaf.role ? { role: leaf.role } : {}),
        },
        ...(isParty(leaf.role) ? { role: leaf.role } : {}),
      };
    }
    if (signer.kind === 'webauthn') {
      return { verifiedAgainst: { kind: 'webauthn', credentialId: signer.credentialId, rpId: signer.rpId, keyId: await jwkThumbprint(signer.jwk) } };
    }
    return { verifiedAgainst: { kind: 'key', keyId: await jwkThumbprint(signer.jwk) } };
  } catch {
    return { verifiedAgainst: { kind: 'unreadable' } };
  }
}

const rank = (type: string) => {
  const i = ORDER.indexOf(type);
  return i < 0 ? ORDER.length : i;
};

/** The deal's timeline: one event per archived statement, in time order, and the parties that appear. */
export async function timelineOf(entries: readonly TimelineInput[]): Promise<Timeline> {
  const sorted = [...entries].sort(
    // Same type both ways within one step (the exchange's deliver): the shopper's item went first.
    (a, b) =>
      a.archivedAt - b.archivedAt ||
      rank(a.type) - rank(b.type) ||
      (a.direction === b.direction ? 0 : a.direction === 'sent' ? -1 : 1) ||
      a.statement.issuedAt.localeCompare(b.statement.issuedAt),
  );
  const events: TimelineEvent[] = [];
  for (const e of sorted) {
    const { verifiedAgainst, role } = await signerOf(e.statement);
    const byType = partyOfType(e.type);
    let from: Party;
    let to: Party;
    if (e.direction === 'sent') {
      from = 'shopper';
      to = byType ?? 'merchant';
    } else {
      // A certificate's role outranks the type; a certified shopper is never the sender of what it received.
      from = role && role !== 'shopper' ? role : (byType ?? 'merchant');
      to = 'shopper';
    }
    events.push({
      at: e.statement.issuedAt,
      archivedAt: new Date(e.archivedAt).toISOString(),
      from,
      to,
      direction: e.direction,
      type: e.type,
      label: statementLabel(e.type),
      digest: e.digest,
      verifiedAgainst,
    });
  }
  const present = new Set<Party>(['shopper', 'merchant']);
  for (const e of events) present.add(e.from).add(e.to);
  return { parties: PARTIES.filter((p) => present.has(p)), events };
}
