/**
 * The setting of a kind of third party the shopper trusts by choice (TTPs, arbiters, time-stamping
 * authorities; extension/settings/trusted-party.ts): the list with remove buttons, fetch by address
 * and confirm the fingerprint, or paste a certificate or fingerprint with the address. One panel
 * for every such kind; what differs is the operations and the words.
 */
import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useState } from 'preact/hooks';
import { callOperation } from '../extension/operations/client.js';
import type { TtpSummary } from '../extension/operations/table.js';
import { t, type MessageKey } from '../extension/ui/i18n.js';
import { CertifiedName } from '../extension/ui/safe-text.js';
import { FetchCertificate } from './FetchCertificate.js';
import { Alert, message } from './components.js';

export interface PartyOperations {
  list(): Promise<TtpSummary[]>;
  add(input: { certificate?: string; fingerprint?: string; url: string }): Promise<unknown>;
  remove(fingerprint: string): Promise<unknown>;
}

export interface PartyWords {
  heading: MessageKey;
  note: MessageKey;
  none: MessageKey;
  byFingerprint: MessageKey;
  certLabel: MessageKey;
  urlLabel: MessageKey;
  add: MessageKey;
  /** takes the error's text */
  error: MessageKey;
}

/** The trusted parties of one kind, loaded; `reload` after a change. */
export function useTrustedParties(list: () => Promise<TtpSummary[]>): [TtpSummary[] | null, () => void, string | null] {
  const [parties, setParties] = useState<TtpSummary[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const reload = useCallback(() => {
    list().then(setParties, (e: unknown) => setError(message(e)));
  }, []);
  useEffect(reload, [reload]);
  return [parties, reload, error];
}

/** Ids: `${kind}-settings` (section), `${kind}s` (list), `${kind}-pem`, `${kind}-url-input`, and FetchCertificate's `fetch-${kind}-…`. */
export function TrustedPartySettings({
  kind,
  ops,
  words,
  after,
}: {
  kind: 'ttp' | 'arbiter' | 'tsa';
  ops: PartyOperations;
  words: PartyWords;
  /** What follows the section and depends on the list (the TTPs' guarantee policy), rendered again with it. */
  after?: (parties: TtpSummary[]) => ComponentChildren;
}) {
  const [parties, reload, loadError] = useTrustedParties(ops.list);
  const [pem, setPem] = useState('');
  const [url, setUrl] = useState('');
  const [error, setError] = useState<string | null>(null);
  const add = (event: Event) => {
    event.preventDefault();
    setError(null);
    const text = pem.trim();
    const which = /^[A-Za-z0-9_-]{43}$/.test(text) ? { fingerprint: text } : { certificate: text };
    ops.add({ ...which, url }).then(
      () => {
        setPem('');
        setUrl('');
        reload();
      },
      (e: unknown) => setError(t(words.error, message(e))),
    );
  };
  const remove = (fingerprint: string) => {
    ops.remove(fingerprint).then(reload, (e: unknown) => setError(message(e)));
  };
  const shown = error ?? loadError;
  const section = (
    <section class="panel" aria-labelledby={`${kind}-settings-heading`} id={`${kind}-settings`}>
      <h2 id={`${kind}-settings-heading`}>{t(words.heading)}</h2>
      <p class="note">{t(words.note)}</p>
      {parties !== null && parties.length === 0 ? <p class="note">{t(words.none)}</p> : null}
      <ul id={`${kind}s`} class="trusted-parties">
        {(parties ?? []).map((x) => (
          <li key={x.fingerprint}>
            <strong>{x.commonName ? <CertifiedName name={x.commonName} /> : t(words.byFingerprint)}</strong> <span class="mono note">{x.url}</span>
            <div class="mono note">{x.fingerprint}</div>
            <button type="button" onClick={() => remove(x.fingerprint)} aria-label={`${t('popRemoveRoot')}: ${x.commonName ?? x.fingerprint}`}>
              {t('popRemoveRoot')}
            </button>
          </li>
        ))}
      </ul>
      <FetchCertificate party={kind} onTrust={(f) => ops.add({ url: f.url, certificate: f.certificate }).then(reload)} />
      <form onSubmit={add}>
        <label for={`${kind}-pem`}>{t(words.certLabel)}</label>
        <textarea id={`${kind}-pem`} rows={3} value={pem} spellcheck={false} onInput={(e) => setPem((e.target as HTMLTextAreaElement).value)} />
        <label for={`${kind}-url-input`}>{t(words.urlLabel)}</label>
        <input id={`${kind}-url-input`} type="url" value={url} spellcheck={false} onInput={(e) => setUrl((e.target as HTMLInputElement).value)} />
        <button type="submit" disabled={pem.trim() === '' || url.trim() === ''}>
          {t(words.add)}
        </button>
      </form>
      <Alert text={shown} />
    </section>
  );
  return after && parties !== null ? (
    <>
      {section}
      {after(parties)}
    </>
  ) : (
    section
  );
}

const arbiterOps: PartyOperations = {
  list: () => callOperation('settings.listArbiters', {}).then((r) => r.arbiters),
  add: (input) => callOperation('settings.addArbiter', input),
  remove: (fingerprint) => callOperation('settings.removeArbiter', { fingerprint }),
};

const tsaOps: PartyOperations = {
  list: () => callOperation('settings.listTsas', {}).then((r) => r.tsas),
  add: (input) => callOperation('settings.addTsa', input),
  remove: (fingerprint) => callOperation('settings.removeTsa', { fingerprint }),
};

/** The trusted arbiters (disputes are filed with one of these; only their verdicts count). */
export function ArbiterSettings() {
  return (
    <TrustedPartySettings
      kind="arbiter"
      ops={arbiterOps}
      words={{
        heading: 'arbHeading',
        note: 'arbNote',
        none: 'arbNone',
        byFingerprint: 'arbByFingerprint',
        certLabel: 'arbCertLabel',
        urlLabel: 'arbUrlLabel',
        add: 'arbAdd',
        error: 'arbError',
      }}
    />
  );
}

/** The trusted time-stamping authorities (only their time stamps count). */
export function TsaSettings() {
  return (
    <TrustedPartySettings
      kind="tsa"
      ops={tsaOps}
      words={{
        heading: 'tsaHeading',
        note: 'tsaNote',
        none: 'tsaNone',
        byFingerprint: 'tsaByFingerprint',
        certLabel: 'tsaCertLabel',
        urlLabel: 'tsaUrlLabel',
        add: 'tsaAdd',
        error: 'tsaError',
      }}
    />
  );
}

/** The trusted arbiters for the dispute form. */
export function useArbiters(): [TtpSummary[] | null, () => void, string | null] {
  return useTrustedParties(arbiterOps.list);
}
