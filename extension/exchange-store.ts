/**
 * What the worker keeps per exchange deal (certified mail, contract signing) and the storage
 * interface the exchange runner uses. The IndexedDB implementation is in exchange-db.ts (its own
 * database, so purchases and exchanges evolve their schemas independently); tests use the
 * in-memory one below (both: record-store.ts).
 */
import type { ErrorInfo } from '../core/commerce/shopper.js';
import type { DescriptorBody, ExchangeAgreement, ExchangeUse, VerifiedExchangeView } from '../core/commerce/exchange-deal.js';
import type { ExchangeState } from '../core/exchange/index.js';
import type { ExchangeOutcomeForPage } from '../core/protocol/provider.js';
import type { Statement } from '../core/statements/index.js';
import { MemoryRecordStore, type RecordStore } from './record-store.js';

export type ExchangeStatus =
  | 'requesting-descriptor'
  | 'awaiting-confirmation'
  | 'exchanging'
  | 'completed'
  | 'resolved'
  | 'aborted'
  | 'failed'
  | 'rejected';

export const TERMINAL_EXCHANGE_STATUSES: readonly ExchangeStatus[] = ['completed', 'resolved', 'aborted', 'failed', 'rejected'];

export type ExchangeResult =
  | { kind: 'finished'; outcome: ExchangeOutcomeForPage }
  | { kind: 'failed'; error: ErrorInfo }
  | { kind: 'rejected' };

export interface ExchangeDealRecord {
  kind: 'exchange';
  dealId: string;
  /** The requesting origin, as the browser reported it. */
  origin: string;
  use: ExchangeUse;
  documentId: string;
  /** The fresh nonce the merchant's descriptor must echo. */
  nonce: string;
  /** The key this browser signs the exchange with (identity key at the start). */
  shopperKeyId: string;
  createdAt: number;
  updatedAt: number;
  status: ExchangeStatus;
  terminal: boolean;
  /** The verified descriptor and what it means (once verified). */
  descriptor?: Statement<DescriptorBody>;
  view?: VerifiedExchangeView;
  agreement?: ExchangeAgreement;
  /** The originator machine's state (plain JSON), persisted after every step. */
  exchange?: ExchangeState;
  /** How the page's request settles; kept so a re-attaching page still gets its answer. */
  result?: ExchangeResult;
  /** The last message the machine or a transport refused (shown in the popup). */
  lastProblem?: ErrorInfo;
}

export type ExchangeStore = RecordStore<ExchangeDealRecord>;

export class MemoryExchangeStore extends MemoryRecordStore<ExchangeDealRecord> {
  constructor() {
    super('exchange');
  }
}
