/**
 * The popup's wallet: per purse (one per bank) the balance, the pinned bank key's fingerprint, the
 * coins, what is in progress and the history (withdrawals, payments with the bank's proof, refunds,
 * renewals, double spends found); opening an account with the bank's one-time code, withdrawing,
 * renewing coins; the encrypted backup (download) and restore (upload). Everything from outside
 * (the bank's URL, references) is shown through SafeText.
 */
import { useCallback, useEffect, useState } from 'preact/hooks';
import { OperationError, callOperation } from '../extension/operations/client.js';
import { formatDateTime, formatMoney, t, type MessageKey } from '../extension/ui/i18n.js';
import { SafeText } from '../extension/ui/safe-text.js';
import type { PurseSummary } from '../extension/wallet/service.js';
import { ErrorAlert, message } from './components.js';
import { parseAmount } from './Identity.js';

type Note = { ok: boolean; text: string } | null;

const HISTORY_KEYS: Record<string, MessageKey> = {
  opened: 'histOpened',
  withdrawal: 'histWithdrawal',
  refresh: 'histRefresh',
  refund: 'histRefund',
  payment: 'histPayment',
  transfer: 'histTransfer',
  'double-spend': 'histDoubleSpend',
  failed: 'histFailed',
  restored: 'histRestored',
};

const PENDING_KEYS: Record<string, MessageKey> = {
  withdrawal: 'histWithdrawal',
  refresh: 'histRefresh',
  refund: 'histRefund',
  payment: 'histPayment',
  transfer: 'histTransfer',
};

function NoteLine({ note, id }: { note: Note; id: string }) {
  return note ? (
    <p role={note.ok ? 'status' : 'alert'} class={note.ok ? 'ok' : 'error'} id={id}>
      {note.text}
    </p>
  ) : null;
}

export function Wallet() {
  const [purses, setPurses] = useState<PurseSummary[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const reload = useCallback(() => {
    callOperation('wallet.status', {}).then(
      (r) => {
        setPurses(r.purses);
        setError(null);
      },
      (e: unknown) => setError(message(e)),
    );
  }, []);
  useEffect(reload, [reload]);
  return (
    <section class="panel" aria-labelledby="wallet-heading" id="wallet">
      <h2 id="wallet-heading">{t('popWallet')}</h2>
      <ErrorAlert error={error} />
      {purses !== null && purses.length === 0 ? <p class="note">{t('popWalletNone')}</p> : null}
      {(purses ?? []).map((p) => (
        <Purse key={p.purseId} purse={p} onChanged={reload} />
      ))}
      <OpenAccount onOpened={reload} />
      <Backup onRestored={reload} hasPurse={(purses ?? []).some((p) => p.phase === 'open')} />
    </section>
  );
}

function Purse({ purse, onChanged }: { purse: PurseSummary; onChanged(): void }) {
  const headingId = `purse-${purse.purseId}-heading`;
  const currency = purse.balance?.currency ?? 'EUR';
  return (
    <article class="purse" aria-labelledby={headingId} data-purse={purse.purseId} data-bank={purse.bankUrl} data-phase={purse.phase}>
      <h3 id={headingId}>
        <SafeText text={purse.bankUrl} class="mono" />
      </h3>
      <dl>
        <dt>{t('popWalletBalance')}</dt>
        <dd class="wallet-balance" data-amount={purse.balance?.amount ?? ''} data-currency={purse.balance?.currency ?? ''}>
          {purse.balance ? formatMoney(purse.balance) : '–'}
        </dd>
        <dt>{t('popWalletBankKey')}</dt>
        <dd>
          <span class="mono bank-fingerprint">{purse.bankKeyId}</span>
          <div class="note">{purse.certified ? t('popWalletCertified') : t('popWalletPinned')}</div>
        </dd>
        {purse.account ? (
          <>
            <dt>{t('popWalletAccount')}</dt>
            <dd class="mono">{purse.account}</dd>
          </>
        ) : null}
        <dt>{t('popWalletCoins')}</dt>
        <dd class="wallet-coins">
          {purse.coins.length === 0 ? t('popWalletNoCoins') : purse.coins.map((c) => t('popWalletCoinCount', String(c.count), formatMoney(c.value))).join(', ')}
          {purse.exposed > 0 ? <div class="note">{t('popWalletExposed', String(purse.exposed))}</div> : null}
        </dd>
        {purse.error ? (
          <>
            <dt>{t('popReason')}</dt>
            <dd class="mono">
              {purse.error.code}: <SafeText text={purse.error.message} />
            </dd>
          </>
        ) : null}
      </dl>
      {purse.pending.length > 0 ? (
        <>
          <h4>{t('popWalletPending')}</h4>
          <ul class="wallet-pending">
            {purse.pending.map((o) => (
              <li key={o.requestId} data-kind={o.kind}>
                {t(PENDING_KEYS[o.kind] ?? 'histFailed')}
                {o.amount ? ` ${formatMoney(o.amount)}` : ''}
                {o.retryAt ? <span class="note"> ({t('popWalletRetryAt', formatDateTime(o.retryAt))})</span> : null}
              </li>
            ))}
          </ul>
        </>
      ) : null}
      {purse.phase === 'open' ? (
        <>
          <Withdraw purse={purse} currency={currency} onDone={onChanged} />
          <Renew purse={purse} onDone={onChanged} />
        </>
      ) : null}
      <History purse={purse} />
    </article>
  );
}

function Withdraw({ purse, currency, onDone }: { purse: PurseSummary; currency: string; onDone(): void }) {
  const id = `withdraw-${purse.purseId}`;
  const [text, setText] = useState('');
  const [busy, setBusy] = useState(false);
  const [note, setNote] = useState<Note>(null);
  const submit = (event: Event) => {
    event.preventDefault();
    const amount = parseAmount(text);
    if (!amount) return setNote({ ok: false, text: t('popWalletAmountInvalid') });
    setBusy(true);
    setNote({ ok: true, text: t('popWalletWorking') });
    callOperation('wallet.withdraw', { bankUrl: purse.bankUrl, amount: { amount, currency } }).then(
      (r) => {
        setBusy(false);
        setText('');
        setNote({ ok: true, text: r.status === 'done' ? t('popWalletWithdrawn', formatMoney({ amount, currency })) : t('popWalletWithdrawPending') });
        onDone();
      },
      (e: unknown) => {
        setBusy(false);
        setNote({ ok: false, text: t('popError', message(e)) });
        onDone();
      },
    );
  };
  return (
    <form class="wallet-withdraw" onSubmit={submit}>
      <label for={id}>{t('popWalletWithdrawLabel', currency)}</label>
      <input
        id={id}
        name="amount"
        type="text"
        inputMode="decimal"
        autocomplete="off"
        value={text}
        onInput={(e) => setText((e.target as HTMLInputElement).value)}
      />
      <button type="submit" disabled={busy || text.trim() === ''}>
        {t('popWalletWithdraw')}
      </button>
      <NoteLine note={note} id={`${id}-note`} />
    </form>
  );
}

function Renew({ purse, onDone }: { purse: PurseSummary; onDone(): void }) {
  const [busy, setBusy] = useState(false);
  const [note, setNote] = useState<Note>(null);
  const renew = () => {
    setBusy(true);
    callOperation('wallet.renew', { bankUrl: purse.bankUrl }).then(
      () => {
        setBusy(false);
        setNote({ ok: true, text: t('popWalletRenewed') });
        onDone();
      },
      (e: unknown) => {
        setBusy(false);
        // A coin the bank saw spent before: marked, with the proof, in the history; the other coins are back.
        setNote({ ok: false, text: e instanceof OperationError && e.code === 'ERR_DOUBLE_SPEND' ? t('popWalletDoubleSpent') : t('popError', message(e)) });
        onDone();
      },
    );
  };
  // With no coins left there is nothing to renew, but what the last renewal found stays shown.
  const renewable = purse.coins.length > 0 || purse.exposed > 0;
  if (!renewable && !note) return null;
  return (
    <div class="wallet-renew">
      {renewable ? (
        <>
          <button type="button" disabled={busy} onClick={renew} aria-describedby={`renew-${purse.purseId}-hint`}>
            {t('popWalletRenew')}
          </button>
          <p class="note" id={`renew-${purse.purseId}-hint`}>
            {t('popWalletRenewHint')}
          </p>
        </>
      ) : null}
      <NoteLine note={note} id={`renew-${purse.purseId}-note`} />
    </div>
  );
}

function History({ purse }: { purse: PurseSummary }) {
  return (
    <>
      <h4>{t('popWalletHistory')}</h4>
      {purse.history.length === 0 ? (
        <p class="note">{t('popWalletNoHistory')}</p>
      ) : (
        <table class="wallet-history">
          <thead>
            <tr>
              <th scope="col">{t('popColDate')}</th>
              <th scope="col">{t('popWalletColWhat')}</th>
              <th scope="col" class="num">
                {t('popWalletColAmount')}
              </th>
              <th scope="col">{t('popWalletColDetails')}</th>
            </tr>
          </thead>
          <tbody>
            {purse.history.map((h, i) => (
              <tr key={`${h.at}-${i}`} data-kind={h.kind}>
                <td>{formatDateTime(h.at)}</td>
                <td>{t(HISTORY_KEYS[h.kind] ?? 'histFailed')}</td>
                <td class="num">{h.amount ? formatMoney(h.amount) : '–'}</td>
                <td class="note">
                  {h.reference ? (
                    <div>
                      {t('popWalletReference')}: <SafeText text={h.reference} class="mono" />
                    </div>
                  ) : null}
                  {h.proof ? (
                    <div class="mono" data-proof-type={h.proof.type}>
                      {h.kind === 'payment' || h.kind === 'transfer' ? t('popWalletProof') : t('popWalletSpendProof')}: {h.proof.type}
                    </div>
                  ) : null}
                  {h.error ? (
                    <div class="mono">
                      {h.error.code}: <SafeText text={h.error.message} />
                    </div>
                  ) : null}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}

function OpenAccount({ onOpened }: { onOpened(): void }) {
  const [bankUrl, setBankUrl] = useState('http://127.0.0.1:8453');
  const [code, setCode] = useState('');
  const [busy, setBusy] = useState(false);
  const [note, setNote] = useState<Note>(null);
  const submit = (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setNote({ ok: true, text: t('popWalletWorking') });
    callOperation('wallet.openAccount', { bankUrl, code }).then(
      (r) => {
        setBusy(false);
        setCode('');
        setNote({ ok: true, text: t('popWalletOpened', r.purse.bankUrl, r.purse.bankKeyId) });
        onOpened();
      },
      (e: unknown) => {
        setBusy(false);
        setNote({ ok: false, text: t('popError', message(e)) });
        onOpened();
      },
    );
  };
  return (
    <form id="wallet-open" aria-labelledby="wallet-open-heading" onSubmit={submit}>
      <h3 id="wallet-open-heading">{t('popWalletOpen')}</h3>
      <label for="wallet-bank-url">{t('popWalletBankUrl')}</label>
      <input id="wallet-bank-url" type="url" autocomplete="off" value={bankUrl} onInput={(e) => setBankUrl((e.target as HTMLInputElement).value)} />
      <label for="wallet-code">{t('popWalletCode')}</label>
      <input
        id="wallet-code"
        type="text"
        autocomplete="off"
        spellcheck={false}
        aria-describedby="wallet-code-hint"
        value={code}
        onInput={(e) => setCode((e.target as HTMLInputElement).value)}
      />
      <p class="note" id="wallet-code-hint">
        {t('popWalletCodeHint')}
      </p>
      <button type="submit" disabled={busy || code.trim() === '' || bankUrl.trim() === ''}>
        {t('popWalletOpenButton')}
      </button>
      <NoteLine note={note} id="wallet-open-note" />
    </form>
  );
}

function Backup({ onRestored, hasPurse }: { onRestored(): void; hasPurse: boolean }) {
  const [passphrase, setPassphrase] = useState('');
  const [restorePassphrase, setRestorePassphrase] = useState('');
  const [file, setFile] = useState<File | null>(null);
  const [busy, setBusy] = useState(false);
  const [note, setNote] = useState<Note>(null);
  const backup = (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setNote({ ok: true, text: t('popWalletWorking') });
    callOperation('wallet.backup', { passphrase }).then(
      (r) => {
        const url = URL.createObjectURL(new Blob([r.file], { type: 'application/json' }));
        const a = document.createElement('a');
        a.href = url;
        a.download = r.fileName;
        document.body.append(a);
        a.click();
        a.remove();
        setTimeout(() => URL.revokeObjectURL(url), 60_000);
        setBusy(false);
        setPassphrase('');
        setNote({ ok: true, text: t('popWalletBackupDone', r.fileName) });
      },
      (e: unknown) => {
        setBusy(false);
        setNote({ ok: false, text: t('popError', message(e)) });
      },
    );
  };
  const restore = (event: Event) => {
    event.preventDefault();
    if (!file) return;
    setBusy(true);
    setNote({ ok: true, text: t('popWalletWorking') });
    file
      .text()
      .then((text) => callOperation('wallet.restore', { file: text, passphrase: restorePassphrase }))
      .then(
        (r) => {
          setBusy(false);
          setRestorePassphrase('');
          setNote({ ok: true, text: t('popWalletRestoreDone', String(r.purses.length)) });
          onRestored();
        },
        (e: unknown) => {
          setBusy(false);
          setNote({ ok: false, text: t('popError', message(e)) });
        },
      );
  };
  return (
    <div id="wallet-backup">
      <h3>{t('popWalletBackup')}</h3>
      <p class="note">{t('popWalletBackupNote')}</p>
      {hasPurse ? (
        <form onSubmit={backup} aria-label={t('popWalletBackupButton')}>
          <label for="wallet-backup-passphrase">{t('popWalletPassphrase')}</label>
          <input
            id="wallet-backup-passphrase"
            type="password"
            autocomplete="new-password"
            minLength={8}
            value={passphrase}
            onInput={(e) => setPassphrase((e.target as HTMLInputElement).value)}
          />
          <button type="submit" id="wallet-backup-button" disabled={busy || passphrase.length < 8}>
            {t('popWalletBackupButton')}
          </button>
        </form>
      ) : null}
      <form onSubmit={restore} aria-label={t('popWalletRestoreButton')}>
        <label for="wallet-restore-file">{t('popWalletRestoreFile')}</label>
        <input
          id="wallet-restore-file"
          type="file"
          accept="application/json,.json"
          onChange={(e) => setFile((e.target as HTMLInputElement).files?.[0] ?? null)}
        />
        <label for="wallet-restore-passphrase">{t('popWalletPassphrase')}</label>
        <input
          id="wallet-restore-passphrase"
          type="password"
          autocomplete="current-password"
          value={restorePassphrase}
          onInput={(e) => setRestorePassphrase((e.target as HTMLInputElement).value)}
        />
        <button type="submit" id="wallet-restore-button" disabled={busy || !file || restorePassphrase.length < 8}>
          {t('popWalletRestoreButton')}
        </button>
      </form>
      <NoteLine note={note} id="wallet-backup-note" />
    </div>
  );
}
