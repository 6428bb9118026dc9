/**
 * The TINGUIN for an exchange deal (certified mail, contract signing): shows ONLY the view the
 * worker built from the merchant's verified descriptor (getPendingExchange) — what the shopper
 * gives, what it gets, the merchant's certified name, and the TTP that guarantees fairness —
 * never anything the page said. Confirm signs the shopper's item and starts the exchange;
 * closing the window declines.
 */
import type { VerifiedExchangeView } from '../core/commerce/exchange-deal.js';
import { callOperation } from '../extension/operations/client.js';
import { formatDateTime, t } from '../extension/ui/i18n.js';
import { CertifiedName, NameWarning, SafeText } from '../extension/ui/safe-text.js';
import {
  AtAGlance,
  CertificateDetails,
  ConfirmButton,
  DecisionActions,
  MerchantPanel,
  NotReady,
  Progress,
  RequestedByPanel,
  SummaryMerchant,
  TermsPanel,
  usePendingDeal,
} from './components.js';
import { TrustedHeader } from './identity.js';
import { KeyTermsPanel, keyTermsGlance } from './key-terms.js';
import { enterResult } from './Result.js';

/** "k of n must agree: A, B, C" — the certified names of the TTPs that guarantee the exchange (cut after two lines at a glance; the TTP panel lists them whole). */
function Guarantors({ quorum }: { quorum: NonNullable<VerifiedExchangeView['quorum']> }) {
  return (
    <span class="glance-guarantors">
      <strong id="glance-quorum">{t('xwGuarantorsAgree', String(quorum.k), String(quorum.ttps.length))}</strong>:{' '}
      {quorum.ttps.map((x, i) => (
        <span key={x.keyId}>
          {i > 0 ? ', ' : ''}
          <CertifiedName name={x.name} />
        </span>
      ))}
    </span>
  );
}

function bytes(n: number): string {
  return n < 1024 ? `${n} B` : `${(n / 1024).toFixed(1)} KiB`;
}

export function ExchangeApp({ dealId }: { dealId: string | null }) {
  const { phase, setPhase, fail, armed, declineRef } = usePendingDeal<VerifiedExchangeView>(dealId, (id) =>
    callOperation('getPendingExchange', { dealId: id }).then(({ view }) => ({ view })),
  );
  if (phase.kind !== 'ready') return <NotReady phase={phase} />;

  const { view, busy } = phase;
  const contract = view.use === 'contract-signing';
  const keyTerms = view.contract?.keyTerms;
  const quorum = view.quorum;
  const decide = (decision: 'confirm' | 'decline') => {
    if (busy || !dealId) return;
    setPhase({ ...phase, busy: decision });
    // Confirmed: the result screen follows the exchange; declined: the worker closes this window.
    callOperation(decision === 'confirm' ? 'confirmExchange' : 'rejectExchange', { dealId })
      .then(() => decision === 'confirm' && enterResult())
      .catch(fail);
  };

  return (
    <main class="tw" aria-labelledby="tw-heading" data-use={view.use}>
      <TrustedHeader />
      <h1 id="tw-heading" tabIndex={-1}>
        {contract ? t('xwHeadingContract') : t('xwHeadingMail')}
      </h1>
      <AtAGlance
        name={view.merchant.legalName}
        origin={view.origin}
        rows={[
          {
            id: 'glance-what',
            label: t('xwYouGet'),
            content: contract ? (
              <SafeText text={t('xwGetSignatureOn', view.contract?.title ?? view.title)} class="glance-what-title" />
            ) : (
              <SafeText text={view.document?.title ?? view.title} class="glance-what-title" />
            ),
          },
          { id: 'glance-pay', label: t('xwYouGive'), content: contract ? t('xwGiveSignature') : t('xwGiveReceipt') },
          // A recurring fee and an automatic renewal are what a shopper must not miss: at first sight, not in the text.
          ...(keyTerms ? [{ id: 'glance-terms', label: t('xwGlanceTerms'), content: keyTermsGlance(keyTerms) }] : []),
          // k-of-n: who guarantees, at first sight — the certified names and how many must agree.
          ...(quorum ? [{ id: 'glance-guarantors', label: t('xwGuarantors'), content: <Guarantors quorum={quorum} /> }] : []),
        ]}
        next={contract ? t('xwNextContract') : t('xwNextMail')}
      />
      <p class="note">{t('twTrustNote')}</p>

      <MerchantPanel merchant={view.merchant} />
      <RequestedByPanel origin={view.origin} />

      <section class="panel exchange-items" aria-labelledby="xw-items">
        <h2 id="xw-items">{t('xwItems')}</h2>
        <dl>
          <dt>{t('xwYouGive')}</dt>
          <dd id="you-give">{contract ? t('xwGiveSignature') : t('xwGiveReceipt')}</dd>
          <dt>{t('xwYouGet')}</dt>
          <dd id="you-get">{contract ? t('xwGetSignature') : <SafeText text={t('xwGetDocument', view.document?.title ?? view.title)} />}</dd>
        </dl>
        {view.document ? (
          <dl id="document">
            <dt>{t('xwDocumentTitle')}</dt>
            <dd>
              <SafeText text={view.document.title} id="document-title" />
            </dd>
            <dt>{t('xwDocumentType')}</dt>
            <dd>
              <SafeText text={view.document.mediaType} />, {bytes(view.document.size)}
            </dd>
            <dt>{t('xwDocumentDigest')}</dt>
            <dd class="mono">{view.document.digest}</dd>
          </dl>
        ) : null}
        {view.contract ? (
          <>
            <h3 id="contract-title">
              <SafeText text={view.contract.title} />
            </h3>
            {keyTerms ? <KeyTermsPanel terms={keyTerms} /> : null}
            {/* biome-ignore lint/a11y/noNoninteractiveTabindex lint/a11y/useSemanticElements: a scrolling region must be reachable by keyboard (WCAG 2.1.1, axe scrollable-region-focusable) and named by the contract's title; a <pre> keeps the text's own line breaks */}
            <pre class="terms-text contract-text" id="contract-text" tabIndex={0} role="region" aria-labelledby="contract-title">
              <SafeText text={view.contract.text} multiline />
            </pre>
          </>
        ) : null}
        <dl>
          <dt>{t('xwExpires')}</dt>
          <dd id="expires">{formatDateTime(view.expiresAt)}</dd>
        </dl>
      </section>

      <section class="panel ttp" aria-labelledby="xw-ttp" id="ttp">
        <h2 id="xw-ttp">{quorum ? t('xwTtpSet') : t('xwTtp')}</h2>
        <p class="merchant-name" id="ttp-name">
          <CertifiedName name={view.ttp.name} />
        </p>
        <NameWarning name={view.ttp.name} id="ttp-name-warning" />
        <p class="note" id="ttp-role">
          {contract ? t(quorum ? 'xwTtpContractSet' : 'xwTtpContract') : t(quorum ? 'xwTtpMailSet' : 'xwTtpMail')}
        </p>
        {quorum ? (
          <>
            <p id="ttp-quorum">
              <strong>{t('xwGuarantorsAgree', String(quorum.k), String(quorum.ttps.length))}</strong>
            </p>
            <p class="note">{t('xwGuarantorsNote', String(quorum.k), String(quorum.ttps.length))}</p>
            <ul id="ttp-set">
              {quorum.ttps.slice(1).map((x) => (
                <li key={x.keyId}>
                  <CertifiedName name={x.name} /> <span class="mono note">{x.url}</span>
                  <div class="mono note">{x.certificateFingerprint}</div>
                </li>
              ))}
            </ul>
          </>
        ) : null}
        <CertificateDetails>
          <dt>{t('twIssuer')}</dt>
          <dd id="ttp-issuer">
            <SafeText text={view.ttp.issuer} />
          </dd>
          <dt>{t('xwTtpAddress')}</dt>
          <dd class="mono" id="ttp-url">
            {view.ttp.url}
          </dd>
          <dt>{t('twFingerprint')}</dt>
          <dd class="mono" id="ttp-fingerprint">
            {view.ttp.certificateFingerprint}
          </dd>
        </CertificateDetails>
      </section>

      {view.terms ? <TermsPanel terms={view.terms} /> : null}

      <DecisionActions
        declineRef={declineRef}
        disabled={busy !== undefined}
        onDecline={() => decide('decline')}
        summary={<SummaryMerchant name={view.merchant.legalName} />}
        progress={<Progress text={busy === undefined ? null : busy === 'confirm' ? t('xwStarting') : t('twDeclining')} />}
      >
        <ConfirmButton disabled={busy !== undefined || !armed} onConfirm={() => decide('confirm')}>
          {contract ? t('xwConfirmContract') : t('xwConfirmMail')}
        </ConfirmButton>
      </DecisionActions>
    </main>
  );
}
