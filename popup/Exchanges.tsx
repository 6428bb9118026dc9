/**
 * The popup's exchange deals (certified mail, contract signing) with their outcome and evidence,
 * and the trusted TTPs setting.
 */
import { useState } from 'preact/hooks';
import { callOperation } from '../extension/operations/client.js';
import type { ExchangeSummary } from '../extension/operations/table.js';
import type { ExchangeDealPhase } from '../core/commerce/exchange-shopper.js';
import { formatDateTime, t, type MessageKey } from '../extension/ui/i18n.js';
import { CertifiedName, SafeText } from '../extension/ui/safe-text.js';
import { visibleText } from '../core/text.js';
import { DetailPanel, ErrorReason, Field, ListPanel, OpenButton, StatementsTable, StatusCell, useLoaded, usePagedOperation } from './components.js';
import { DisputePanel } from './Dispute.js';
import { type PartyOperations, type PartyWords, TrustedPartySettings } from './TrustedParties.js';
import { GuaranteePolicy } from './GuaranteePolicy.js';

const STATUS_KEYS: Record<ExchangeDealPhase, MessageKey> = {
  'requesting-descriptor': 'xsRequesting',
  'awaiting-confirmation': 'statusAwaitingConfirmation',
  exchanging: 'xsExchanging',
  'awaiting-ttp': 'xsAwaitingTtp',
  completed: 'statusCompleted',
  resolved: 'xsResolved',
  aborted: 'xsAborted',
  failed: 'statusFailed',
  rejected: 'statusRejected',
};

export function exchangeStatusLabel(status: ExchangeDealPhase): string {
  return t(STATUS_KEYS[status]);
}

function useLabel(use: ExchangeSummary['use']): string {
  return use === 'contract-signing' ? t('xsUseContract') : t('xsUseMail');
}

export function Exchanges() {
  const [selected, setSelected] = useState<string | null>(null);
  return selected ? <ExchangeDetail dealId={selected} onBack={() => setSelected(null)} /> : <ExchangeList onOpen={setSelected} />;
}

function ExchangeList({ onOpen }: { onOpen(dealId: string): void }) {
  const { items: list, error, showOlder } = usePagedOperation('listExchanges', (r) => r.exchanges);
  return (
    <ListPanel
      id="exchanges"
      heading={t('xsExchanges')}
      error={error}
      items={list}
      {...(showOlder ? { showOlder } : {})}
      empty={t('xsNone')}
      columns={[{ label: t('xsColWhat') }, { label: t('popColStatus') }, { label: t('popColDate') }]}
      row={(x: ExchangeSummary) => (
        <tr key={x.dealId} data-deal={x.dealId} data-status={x.status} data-use={x.use}>
          <td>
            <OpenButton name={visibleText(x.title ?? x.origin)} onOpen={() => onOpen(x.dealId)}>
              {x.title ? <SafeText text={x.title} /> : useLabel(x.use)}
            </OpenButton>
            <div class="note">
              {useLabel(x.use)} · {x.merchant ? <CertifiedName name={x.merchant} /> : x.origin}
            </div>
          </td>
          <StatusCell status={x.status} label={exchangeStatusLabel(x.status)} />
          <td>{formatDateTime(x.createdAt)}</td>
        </tr>
      )}
    />
  );
}

function ExchangeDetail({ dealId, onBack }: { dealId: string; onBack(): void }) {
  const { data: x, error } = useLoaded(() => callOperation('getExchange', { dealId }), [dealId]);
  const s = x?.exchange;
  return (
    <DetailPanel
      id="exchange-detail"
      headingId="exchange-heading"
      back={t('xsBack')}
      onBack={onBack}
      heading={
        s ? (
          <>
            {useLabel(s.use)}: <SafeText text={s.title ?? ''} />
          </>
        ) : (
          t('xsExchanges')
        )
      }
      error={error}
    >
      {x && s ? (
        <>
          <dl>
            <Field label={t('popColMerchant')}>{s.merchant ? <CertifiedName name={s.merchant} /> : '–'}</Field>
            <Field label={t('popOrigin')} class="mono">
              {s.origin}
            </Field>
            <Field label={t('popColStatus')} class={`status-${s.status}`} id="exchange-status">
              {exchangeStatusLabel(s.status)}
            </Field>
            {s.ttp ? (
              <Field label={t('xwTtp')}>
                <CertifiedName name={s.ttp} />
              </Field>
            ) : null}
            {s.exchangeId ? (
              <Field label={t('xsExchangeId')} class="mono">
                {s.exchangeId}
              </Field>
            ) : null}
            <ErrorReason error={s.error} />
          </dl>
          {s.status === 'awaiting-ttp' ? (
            <p class="note" id="exchange-awaiting-ttp">
              {t('xsAwaitingTtpNote')}
            </p>
          ) : null}
          {x.evidence.resolution ? (
            <p class="note" id="exchange-evidence">
              {x.evidence.affidavit ? t('xsEvidenceAffidavit') : t('xsEvidenceResolution')}
            </p>
          ) : x.evidence.abortToken ? (
            <p class="note" id="exchange-evidence">
              {t('xsEvidenceAbort')}
            </p>
          ) : null}
          {x.document ? (
            <>
              <h3>
                <SafeText text={x.document.title} />
              </h3>
              {x.document.text !== undefined ? (
                // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrolling region must be reachable by keyboard (WCAG 2.1.1, axe scrollable-region-focusable)
                <pre class="good-text" id="exchange-document" tabIndex={0}>
                  <SafeText text={x.document.text.slice(0, 4000)} multiline />
                </pre>
              ) : (
                <p class="note mono">{x.document.mediaType}</p>
              )}
            </>
          ) : null}
          {x.contract ? (
            <>
              <h3>
                <SafeText text={x.contract.title} />
              </h3>
              {/* biome-ignore lint/a11y/noNoninteractiveTabindex: a scrolling region must be reachable by keyboard (WCAG 2.1.1, axe scrollable-region-focusable) */}
              <pre class="good-text" id="exchange-contract" tabIndex={0}>
                <SafeText text={x.contract.text} multiline />
              </pre>
            </>
          ) : null}
          <StatementsTable id="exchange-statements" statements={x.statements} dealId={dealId} />
          <DisputePanel dealId={dealId} kind="exchange" status={x.exchange.status} />
        </>
      ) : null}
    </DetailPanel>
  );
}

const ttpOps: PartyOperations = {
  list: () => callOperation('settings.listTtps', {}).then((r) => r.ttps),
  add: (input) => callOperation('settings.addTtp', input),
  remove: (fingerprint) => callOperation('settings.removeTtp', { fingerprint }),
};

const ttpWords: PartyWords = {
  heading: 'xsTtps',
  note: 'xsTtpsNote',
  none: 'xsTtpsNone',
  byFingerprint: 'xsTtpByFingerprint',
  certLabel: 'xsTtpCertLabel',
  urlLabel: 'xsTtpUrlLabel',
  add: 'xsTtpAdd',
  error: 'xsTtpError',
};

/** The TTPs the shopper trusts, and beside that list the choice of which may guarantee an exchange and k. */
export function TtpSettings() {
  return <TrustedPartySettings kind="ttp" ops={ttpOps} words={ttpWords} after={(ttps) => <GuaranteePolicy ttps={ttps} />} />;
}
