/**
 * Notices (extension/notices): requests that failed before any trusted window could show a verified
 * offer, each with what happened and what the shopper can do, in words rather than the error code
 * the page got. Shown at the top of the popup while there are any; "Mark as read" clears the
 * badge's "!".
 */
import { useState } from 'preact/hooks';
import { callOperation } from '../extension/operations/client.js';
import type { Notice, NoticeAdvice } from '../extension/notices/notices.js';
import { formatDateTime, type MessageKey, t } from '../extension/ui/i18n.js';
import { SafeText } from '../extension/ui/safe-text.js';
import { useLoaded } from './components.js';

const ADVICE: Record<NoticeAdvice, { what: MessageKey; todo: MessageKey }> = {
  'untrusted-ca': { what: 'ntUntrustedCa', todo: 'ntUntrustedCaTodo' },
  'origin-mismatch': { what: 'ntOriginMismatch', todo: 'ntOriginMismatchTodo' },
  'untrusted-ttp': { what: 'ntUntrustedTtp', todo: 'ntUntrustedTtpTodo' },
  'ttp-policy': { what: 'ntTtpPolicy', todo: 'ntTtpPolicyTodo' },
  revoked: { what: 'ntRevoked', todo: 'ntRevokedTodo' },
  expired: { what: 'ntExpired', todo: 'ntExpiredTodo' },
  'not-verified': { what: 'ntNotVerified', todo: 'ntNotVerifiedTodo' },
  other: { what: 'ntOther', todo: 'ntOtherTodo' },
};

/** Where the shopper acts on each advice (a section of this popup), if anywhere. */
const ACTION: Partial<Record<NoticeAdvice, { target: string; label: MessageKey }>> = {
  'untrusted-ca': { target: 'ca-settings', label: 'ntGoToRoots' },
  'untrusted-ttp': { target: 'ttp-settings', label: 'ntGoToTtps' },
  'ttp-policy': { target: 'quorum-settings', label: 'ntGoToQuorum' },
};

export function Notices({ onRead }: { onRead?(): void }) {
  const [version, setVersion] = useState(0);
  const { data } = useLoaded(() => callOperation('notices.list', {}), [version]);
  if (!data || data.notices.length === 0) return null;
  const reload = () => setVersion((v) => v + 1);
  const read = () =>
    void callOperation('notices.read', {}).then(() => {
      onRead?.();
      reload();
    }, reload);
  return (
    <section class="panel notices" aria-labelledby="notices-heading" id="notices">
      <h2 id="notices-heading">
        {t('ntHeading')}
        {data.unseen > 0 ? <span class="note"> ({t('ntUnread', String(data.unseen))})</span> : null}
      </h2>
      <ul class="plain">
        {data.notices.map((n: Notice) => {
          const advice = ADVICE[n.advice];
          const action = ACTION[n.advice];
          return (
            <li key={n.dealId} data-deal={n.dealId} data-advice={n.advice}>
              <p>
                <strong>{t(advice.what)}</strong>
              </p>
              <p class="note">
                <span class="mono">
                  <SafeText text={n.origin} />
                </span>{' '}
                · {formatDateTime(new Date(n.at).toISOString())}
              </p>
              <p>{t(advice.todo)}</p>
              {action ? (
                <p>
                  <a href={`#${action.target}`}>{t(action.label)}</a>
                </p>
              ) : null}
              <details>
                <summary>{t('ntDetails')}</summary>
                <p class="mono note">
                  {n.code}: <SafeText text={n.message} />
                </p>
              </details>
            </li>
          );
        })}
      </ul>
      {data.unseen > 0 ? (
        <button type="button" id="notices-read" onClick={read}>
          {t('ntMarkRead')}
        </button>
      ) : null}
    </section>
  );
}
