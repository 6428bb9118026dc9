/**
 * The guarantee policy in the popup's Trust section (core/commerce/ttp-policy.ts, docs/quorum.md):
 * which of the trusted TTPs may guarantee an exchange and how many must agree. What k means is said
 * in plain words next to it — how many may be unreachable (n − k) and whether a dishonest TTP is
 * tolerated (2k ≥ n + f + 1) — because a majority is not safe against one that signs both ways.
 */
import { useEffect, useState } from 'preact/hooks';
import { maliciousTolerated, type TtpPolicy } from '../core/commerce/ttp-policy.js';
import { callOperation } from '../extension/operations/client.js';
import type { TtpSummary } from '../extension/operations/table.js';
import { t } from '../extension/ui/i18n.js';
import { CertifiedName } from '../extension/ui/safe-text.js';
import { Alert, message } from './components.js';

/** What k of n means, in the user's words. */
function Meaning({ k, n }: { k: number; n: number }) {
  const f = maliciousTolerated(k, n);
  // Rule 2 of docs/quorum.md with f = 1: the smallest k that tolerates one dishonest TTP among n.
  const need = Math.ceil((n + 2) / 2);
  return (
    <div id="quorum-meaning" aria-live="polite">
      <p>
        <strong>{t('qpSummary', String(k), String(n))}</strong>
      </p>
      <p class="note">{n - k > 0 ? t('qpDown', String(n - k)) : t('qpNoDown')}</p>
      <p class="note">{f > 0 ? t('qpMalicious', String(f)) : t('qpNotMalicious', String(need), String(n))}</p>
    </div>
  );
}

/** The trusted TTPs in the order of their names (the store keeps them by fingerprint). */
function byName(ttps: TtpSummary[]): TtpSummary[] {
  return [...ttps].sort((a, b) => (a.commonName ?? a.fingerprint).localeCompare(b.commonName ?? b.fingerprint));
}

export function GuaranteePolicy({ ttps }: { ttps: TtpSummary[] }) {
  const [policy, setPolicy] = useState<TtpPolicy | null | undefined>(undefined);
  const [chosen, setChosen] = useState<string[]>([]);
  const [k, setK] = useState(1);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    callOperation('settings.getTtpPolicy', {}).then(
      (r) => {
        setPolicy(r.policy);
        if (r.policy) {
          setChosen(r.policy.ttps);
          setK(r.policy.k);
        }
      },
      (e: unknown) => setError(message(e)),
    );
  }, []);
  const n = chosen.length;
  const valid = n >= 1 && 2 * k > n && k <= n;
  const toggle = (fingerprint: string, on: boolean) => {
    const next = on ? [...chosen, fingerprint] : chosen.filter((f) => f !== fingerprint);
    setChosen(next);
    // The majority is the default choice of k for a new set: the least that keeps two outcomes from both counting.
    if (on || k > next.length || 2 * k <= next.length) setK(Math.floor(next.length / 2) + 1);
  };
  const save = (next: TtpPolicy | null) => {
    setError(null);
    callOperation('settings.setTtpPolicy', { policy: next }).then(
      (r) => {
        setPolicy(r.policy);
        if (!r.policy) setChosen([]);
      },
      (e: unknown) => setError(t('qpError', message(e))),
    );
  };
  const trusted = new Set(ttps.map((x) => x.fingerprint));
  const stale = (policy?.ttps ?? []).filter((f) => !trusted.has(f));
  return (
    <section class="panel" aria-labelledby="quorum-heading" id="quorum-settings">
      <h2 id="quorum-heading">{t('qpHeading')}</h2>
      <p class="note">{t('qpNote')}</p>
      <p id="quorum-in-use">{policy ? t('qpInUse', String(policy.k), String(policy.ttps.length)) : t('qpInUseNone')}</p>
      {stale.length > 0 ? (
        <ul id="quorum-stale">
          {stale.map((f) => (
            <li key={f} class="mono note">
              {f}: {t('qpNoLongerTrusted')}
            </li>
          ))}
        </ul>
      ) : null}
      <form
        onSubmit={(event) => {
          event.preventDefault();
          if (valid) save({ ttps: chosen, k });
        }}
      >
        <fieldset>
          <legend>{t('qpChoose')}</legend>
          {byName(ttps).map((x) => (
            <div class="check" key={x.fingerprint}>
              <input
                type="checkbox"
                id={`quorum-ttp-${x.fingerprint}`}
                checked={chosen.includes(x.fingerprint)}
                onChange={(e) => toggle(x.fingerprint, (e.target as HTMLInputElement).checked)}
              />
              <label for={`quorum-ttp-${x.fingerprint}`}>
                {x.commonName ? <CertifiedName name={x.commonName} /> : <span class="mono">{x.fingerprint}</span>}
              </label>
            </div>
          ))}
        </fieldset>
        <label for="quorum-k">{t('qpK')}</label>
        <input
          id="quorum-k"
          type="number"
          min={Math.floor(n / 2) + 1}
          max={Math.max(n, 1)}
          value={k}
          aria-describedby="quorum-meaning"
          onInput={(e) => setK(Number((e.target as HTMLInputElement).value))}
        />
        {n > 0 && valid ? <Meaning k={k} n={n} /> : null}
        {n > 0 && !valid ? (
          <p class="error" role="alert">
            {t('qpMajority')}
          </p>
        ) : null}
        <button type="submit" id="quorum-save" disabled={!valid}>
          {t('qpSave')}
        </button>{' '}
        <button type="button" id="quorum-clear" disabled={!policy} onClick={() => save(null)}>
          {t('qpClear')}
        </button>
      </form>
      <Alert text={error} />
    </section>
  );
}
