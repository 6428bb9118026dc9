/**
 * The exchange part of the operation API (operations.ts spreads these in): the trusted window's
 * decision on an exchange deal, the popup's list of exchanges with their outcome and evidence,
 * and the trusted-TTP setting.
 */
import { z } from 'zod';
import type { ErrorInfo } from '../core/commerce/shopper.js';
import type { ExchangeUse, VerifiedExchangeView } from '../core/commerce/exchange-deal.js';
import type { ExchangeOutcomeForPage } from '../core/protocol/provider.js';
import type { Statement } from '../core/statements/index.js';
import type { ExchangeStatus } from './exchange-store.js';
import { ByDeal, Empty, Fingerprint, type ArchivedStatementView } from './operation-common.js';


export const ExchangeOperationRequests = {
  /** Trusted window of that deal only. */
  getPendingExchange: ByDeal,
  confirmExchange: ByDeal,
  rejectExchange: ByDeal,
  listExchanges: Empty,
  getExchange: ByDeal,
  /** A TTP to trust: its certificate (PEM | base64 DER) or its fingerprint, and where to reach it. */
  'settings.addTtp': z.strictObject({
    certificate: z.string().min(1).max(20_000).optional(),
    fingerprint: Fingerprint.optional(),
    url: z.string().min(1).max(512),
  }),
  'settings.listTtps': Empty,
  'settings.removeTtp': z.strictObject({ fingerprint: Fingerprint }),
} as const;

/** Operations only the trusted window showing that exchange may call (checked like confirmDeal). */
export const EXCHANGE_WINDOW_OPERATIONS = ['getPendingExchange', 'confirmExchange', 'rejectExchange'] as const;

export interface ExchangeSummary {
  dealId: string;
  origin: string;
  use: ExchangeUse;
  status: ExchangeStatus;
  title?: string;
  merchant?: string;
  ttp?: string;
  exchangeId?: string;
  createdAt: string;
  updatedAt: string;
  error?: ErrorInfo;
}

export type ExchangeStatementView = ArchivedStatementView;

export interface TtpSummary {
  fingerprint: string;
  url: string;
  commonName?: string;
  keyId?: string;
  notAfter?: string;
  addedAt: string;
}

export interface ExchangeOperationResponses {
  getPendingExchange: { view: VerifiedExchangeView; status: ExchangeStatus };
  confirmExchange: { status: ExchangeStatus };
  rejectExchange: { status: ExchangeStatus };
  listExchanges: { exchanges: ExchangeSummary[] };
  getExchange: {
    exchange: ExchangeSummary;
    view?: VerifiedExchangeView;
    outcome?: ExchangeOutcomeForPage;
    statements: ExchangeStatementView[];
    /** The TTP's statements, when it stepped in: resolution + affidavit, or the abort token. */
    evidence: { resolution?: Statement; affidavit?: Statement; abortToken?: Statement };
    /** certified mail: the document received (directly or forwarded by the TTP) */
    document?: { title: string; mediaType: string; data: string; text?: string };
    /** contract signing: the text, and the merchant's signature if it arrived (else the affidavit stands in) */
    contract?: { title: string; text: string; merchantSignature?: Statement };
  };
  'settings.addTtp': { ttp: TtpSummary };
  'settings.listTtps': { ttps: TtpSummary[] };
  'settings.removeTtp': { removed: boolean };
}
