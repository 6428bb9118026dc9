/**
 * A deal as a picture (issue 12): one vertical lifeline per party, one arrow per archived
 * statement from its sender to its receiver, in time order, labelled with what it is and when.
 * The SVG is one image (role="img") with a title and a description; the same events follow as an
 * ordered list for screen readers and for reading the details (who verified against which key).
 * Hovering over a list item or focusing its button highlights its arrow.
 */
import { useState } from 'preact/hooks';
import type { Party, Timeline as TimelineData, TimelineEvent, VerifiedAgainst } from '../extension/history/timeline.js';
import { t, uiLocale, type MessageKey } from '../extension/ui/i18n.js';
import { visibleText } from '../core/text.js';

const PARTY_KEYS: Record<Party, MessageKey> = {
  shopper: 'histPartyShopper',
  merchant: 'histPartyMerchant',
  ttp: 'histPartyTtp',
  bank: 'histPartyBank',
  arbiter: 'histPartyArbiter',
  tsa: 'histPartyTsa',
};

const TYPE_KEYS: Record<string, MessageKey> = {
  'semper.offer': 'histTypeOffer',
  'semper.fair.offer': 'histTypeOffer',
  'semper.order': 'histTypeOrder',
  'semper.order-confirmation': 'histTypeConfirmation',
  'semper.delivery': 'histTypeDelivery',
  'semper.exchange.descriptor': 'histTypeDescriptor',
  'semper.fair.start': 'histTypeFairStart',
  'semper.exchange.propose': 'histTypePropose',
  'semper.exchange.accept': 'histTypeAccept',
  'semper.exchange.deliver': 'histTypeDeliver',
  'semper.payment.proof': 'histTypePaymentProof',
  'semper.goods.key': 'histTypeGoodsKey',
  'semper.exchange.abort-request': 'histTypeAbortRequest',
  'semper.exchange.resolve-request': 'histTypeResolveRequest',
  'semper.exchange.complaint': 'histTypeComplaint',
  'semper.ttp.abort-token': 'histTypeAbortToken',
  'semper.ttp.revocation-order': 'histTypeRevocationOrder',
  'semper.ttp.resolution': 'histTypeResolution',
  'semper.ttp.affidavit': 'histTypeAffidavit',
  'semper.arbiter.complaint': 'histTypeArbiterComplaint',
  'semper.arbiter.verdict': 'histTypeVerdict',
};

export const partyName = (p: Party) => t(PARTY_KEYS[p]);
/** The statement's type in plain words, in the UI language (the worker's English words otherwise). */
export const eventLabel = (e: TimelineEvent) => (TYPE_KEYS[e.type] ? t(TYPE_KEYS[e.type]!) : e.label);

function formatTime(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : new Intl.DateTimeFormat(uiLocale(), { dateStyle: 'short', timeStyle: 'medium' }).format(d);
}

export function verifiedText(v: VerifiedAgainst): string {
  switch (v.kind) {
    case 'certificate':
      return t('histVerifiedCert', visibleText(v.commonName), visibleText(v.issuer), v.fingerprint);
    case 'key':
      return t('histVerifiedKey', v.keyId);
    case 'webauthn':
      return t('histVerifiedToken', v.credentialId, v.keyId);
    default:
      return t('histVerifiedUnknown');
  }
}

/** One sentence per arrow: "Merchant to You: offer, 30.11.26, 09:00:01". */
export const arrowText = (e: TimelineEvent) => `${t('histArrow', partyName(e.from), partyName(e.to), eventLabel(e))}, ${formatTime(e.at)}`;

const WIDTH = 520;
const MARGIN = 70;
const HEAD = 44;
const ROW = 46;

export function Timeline({ timeline }: { timeline: TimelineData }) {
  const [active, setActive] = useState<number | null>(null);
  const { parties, events } = timeline;
  if (events.length === 0) return <p class="note">{t('histNoStatements')}</p>;
  const step = parties.length > 1 ? (WIDTH - 2 * MARGIN) / (parties.length - 1) : 0;
  const x = (p: Party) => MARGIN + parties.indexOf(p) * step;
  const height = HEAD + events.length * ROW + 12;
  const names = parties.map(partyName).join(', ');
  return (
    <div class="timeline">
      <svg
        id="timeline-svg"
        role="img"
        aria-labelledby="timeline-svg-title timeline-svg-desc"
        viewBox={`0 0 ${WIDTH} ${height}`}
        width="100%"
        preserveAspectRatio="xMidYMin meet"
      >
        <title id="timeline-svg-title">{t('histTimeline')}</title>
        <desc id="timeline-svg-desc">
          {t('histTimelineDesc', String(events.length), names)} {events.map((e, i) => `${i + 1}. ${arrowText(e)}.`).join(' ')}
        </desc>
        <defs>
          <marker id="tl-head" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" orient="auto-start-reverse">
            <path d="M0,0 L10,5 L0,10 z" class="tl-head" />
          </marker>
        </defs>
        {parties.map((p) => (
          <g key={p} class="tl-party" data-party={p}>
            <text x={x(p)} y={18} text-anchor="middle" class="tl-party-name">
              {partyName(p)}
            </text>
            <line x1={x(p)} x2={x(p)} y1={28} y2={height - 4} class="tl-lifeline" />
          </g>
        ))}
        {events.map((e, i) => {
          const y = HEAD + i * ROW + 20;
          const x1 = x(e.from);
          const x2 = x(e.to);
          const mid = (x1 + x2) / 2;
          return (
            <g
              key={e.digest}
              class={`tl-arrow tl-${e.direction}${active === i ? ' tl-active' : ''}`}
              data-type={e.type}
              data-from={e.from}
              data-to={e.to}
              data-digest={e.digest}
            >
              <title>{arrowText(e)}</title>
              <text x={mid} y={y - 6} text-anchor="middle" class="tl-label">
                {`${i + 1}. ${eventLabel(e)}`}
              </text>
              <line x1={x1} x2={x2 + (x2 > x1 ? -2 : 2)} y1={y} y2={y} marker-end="url(#tl-head)" class="tl-line" />
              <text x={mid} y={y + 15} text-anchor="middle" class="tl-time">
                {formatTime(e.at)}
              </text>
            </g>
          );
        })}
      </svg>
      <p class="note" id="timeline-list-caption">
        {t('histTimelineList')}
      </p>
      <ol id="timeline-list" aria-labelledby="timeline-list-caption">
        {events.map((e, i) => (
          <li
            key={e.digest}
            data-type={e.type}
            class={active === i ? 'tl-active' : undefined}
            onMouseEnter={() => setActive(i)}
            onMouseLeave={() => setActive(null)}
          >
            {/* Focusing an event highlights its arrow in the picture (keyboard users see which one is which). */}
            <button type="button" class="link tl-event" onFocus={() => setActive(i)} onBlur={() => setActive(null)} onClick={() => setActive(i)}>
              {arrowText(e)}
            </button>
            <div class="note">{verifiedText(e.verifiedAgainst)}</div>
            <div class="note mono tl-digest">{e.digest}</div>
          </li>
        ))}
      </ol>
    </div>
  );
}
