/**
 * The popup's fair purchases (goods for money): what was bought, from whom, for how much and how it
 * was paid, the outcome (the merchant sent the key, or the TTP revealed it), the goods once
 * decrypted, the bank's payment proof and every statement of the exchange — the evidence.
 */
import { useState } from 'preact/hooks';
import type { FairShopperPhase } from '../core/commerce/fair-purchase-shopper.js';
import { callOperation } from '../extension/operations/client.js';
import type { FairPurchaseSummary } from '../extension/operations/table.js';
import { formatDateTime, formatMoney, type MessageKey, t } from '../extension/ui/i18n.js';
import { CertifiedName, SafeText } from '../extension/ui/safe-text.js';
import { visibleText } from '../core/text.js';
import { DetailPanel, ErrorReason, Field, ListPanel, OpenButton, StatementsTable, StatusCell, useLoaded, usePagedOperation } from './components.js';
import { DisputePanel } from './Dispute.js';

const STATUS_KEYS: Record<FairShopperPhase, MessageKey> = {
  'requesting-offer': 'fsRequesting',
  'awaiting-confirmation': 'statusAwaitingConfirmation',
  starting: 'fsStarting',
  paying: 'fsPaying',
  exchanging: 'xsExchanging',
  completed: 'statusCompleted',
  failed: 'statusFailed',
  rejected: 'statusRejected',
};

function statusLabel(s: FairPurchaseSummary, outcome?: 'completed' | 'resolved'): string {
  return outcome === 'resolved' ? t('fsResolved') : t(STATUS_KEYS[s.status]);
}

function methodLabel(method: FairPurchaseSummary['method']): string {
  return method === 'cash' ? t('fwMethodCash') : method === 'account' ? t('fwMethodAccount') : '–';
}

export function FairPurchases() {
  const [selected, setSelected] = useState<string | null>(null);
  return selected ? <FairDetail dealId={selected} onBack={() => setSelected(null)} /> : <FairList onOpen={setSelected} />;
}

function FairList({ onOpen }: { onOpen(dealId: string): void }) {
  const { items: list, error, showOlder } = usePagedOperation('listFairPurchases', (r) => r.purchases);
  return (
    <ListPanel
      id="fair-purchases"
      heading={t('fsHeading')}
      error={error}
      items={list}
      {...(showOlder ? { showOlder } : {})}
      empty={t('fsNone')}
      columns={[{ label: t('xsColWhat') }, { label: t('popColStatus') }, { label: t('popColDate') }]}
      row={(x: FairPurchaseSummary) => (
        <tr key={x.dealId} data-deal={x.dealId} data-status={x.status}>
          <td>
            <OpenButton name={visibleText(x.title ?? x.origin)} onOpen={() => onOpen(x.dealId)}>
              {x.title ? <SafeText text={x.title} /> : x.origin}
            </OpenButton>
            <div class="note">
              {x.price ? formatMoney(x.price) : ''} · {x.merchant ? <CertifiedName name={x.merchant} /> : x.origin}
            </div>
          </td>
          <StatusCell status={x.status} label={statusLabel(x)} />
          <td>{formatDateTime(x.createdAt)}</td>
        </tr>
      )}
    />
  );
}

function FairDetail({ dealId, onBack }: { dealId: string; onBack(): void }) {
  const { data: x, error } = useLoaded(() => callOperation('getFairPurchase', { dealId }), [dealId]);
  const s = x?.purchase;
  return (
    <DetailPanel
      id="fair-detail"
      headingId="fair-heading"
      back={t('xsBack')}
      onBack={onBack}
      heading={s?.title ? <SafeText text={s.title} /> : t('fsHeading')}
      error={error}
    >
      {x && s ? (
        <>
          <dl>
            <Field label={t('popColMerchant')}>{s.merchant ? <CertifiedName name={s.merchant} /> : '–'}</Field>
            <Field label={t('popOrigin')} class="mono">
              {s.origin}
            </Field>
            <Field label={t('fwYouPay')}>{s.price ? formatMoney(s.price) : '–'}</Field>
            <Field label={t('fwMethod')}>{methodLabel(s.method)}</Field>
            <Field label={t('popColStatus')} class={`status-${s.status}`} id="fair-status">
              {statusLabel(s, x.outcome?.status)}
            </Field>
            <ErrorReason error={s.error} />
          </dl>
          {x.goods ? (
            <>
              <h3>
                <SafeText text={x.goods.title} />
              </h3>
              {x.goods.text !== undefined ? (
                // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrolling region must be reachable by keyboard (WCAG 2.1.1, axe scrollable-region-focusable)
                <pre class="good-text" id="fair-goods" tabIndex={0}>
                  <SafeText text={x.goods.text.slice(0, 4000)} multiline />
                </pre>
              ) : (
                <p class="note mono">{x.goods.mediaType}</p>
              )}
            </>
          ) : null}
          <StatementsTable id="fair-statements" statements={x.statements} dealId={dealId} />
          <DisputePanel dealId={dealId} kind="fair-purchase" status={x.purchase.status} />
        </>
      ) : null}
    </DetailPanel>
  );
}
