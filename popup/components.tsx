/**
 * What the popup's purchase and exchange views share: loading an operation's answer, the list
 * panel with its table, the row's open button, the status cell, the detail panel with its back
 * button, definition-list fields and the table of archived statements (the evidence).
 */
import type { ComponentChildren, JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import type { ErrorInfo } from '../core/commerce/shopper.js';
import type { ArchivedStatementView, OperationResponses, PageAfter } from '../extension/operations/table.js';
import { t } from '../extension/ui/i18n.js';
import { callOperation } from '../extension/operations/client.js';
import { decodeBase64url } from '../core/encoding/base64url.js';
import { SafeText } from '../extension/ui/safe-text.js';

export const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

/** Runs `load` when `deps` change: its answer (null until it came) or the error's text. */
export function useLoaded<T>(load: () => Promise<T>, deps: readonly unknown[]): { data: T | null; error: string | null } {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    load().then(
      (d) => setData(() => d),
      (e: unknown) => setError(message(e)),
    );
  }, deps);
  return { data, error };
}

/**
 * A newest-first list loaded a page at a time (listDeals, listExchanges, listFairPurchases): the
 * first page on mount, the next one on `showOlder` (absent once there is none).
 */
export function usePagedList<T, P>(
  load: (after?: P) => Promise<{ rows: T[]; next?: P }>,
): {
  items: T[] | null;
  error: string | null;
  showOlder?: () => void;
} {
  const [items, setItems] = useState<T[] | null>(null);
  const [next, setNext] = useState<P | undefined>(undefined);
  const [error, setError] = useState<string | null>(null);
  const take = (append: boolean) => (page: { rows: T[]; next?: P }) => {
    setItems((shown) => (append ? [...(shown ?? []), ...page.rows] : page.rows));
    setNext(() => page.next);
  };
  useEffect(() => {
    load().then(take(false), (e: unknown) => setError(message(e)));
  }, []);
  return { items, error, ...(next !== undefined ? { showOlder: () => void load(next).then(take(true), (e: unknown) => setError(message(e))) } : {}) };
}

/** The worker's newest-first list operations (extension/deals/pages.ts): `{ after? }` in, a page with `next` out. */
type PagedOperation = 'listDeals' | 'listExchanges' | 'listFairPurchases';

/** usePagedList over one of those operations; `rowsOf` names the rows in its answer. */
export function usePagedOperation<O extends PagedOperation, T>(op: O, rowsOf: (answer: OperationResponses[O]) => T[]) {
  return usePagedList((after?: PageAfter) =>
    callOperation<PagedOperation>(op, after ? { after } : {}).then((answer) => ({
      rows: rowsOf(answer as OperationResponses[O]),
      ...(answer.next ? { next: answer.next } : {}),
    })),
  );
}

/** A failure said in the popup's words, announced as it appears (nothing when `text` is null or empty). */
export function Alert({ text, id }: { text: string | null; id?: string }) {
  return text ? (
    <p role="alert" class="error" {...(id ? { id } : {})}>
      {text}
    </p>
  ) : null;
}

/** An error message behind the popup's "Error:" prefix. */
export function ErrorAlert({ error, id }: { error: string | null; id?: string }) {
  return <Alert text={error ? t('popError', error) : null} {...(id ? { id } : {})} />;
}

export interface Column {
  label: string;
  num?: boolean;
}

/** A section `id` (heading `${id}-heading`) with a table of `items`, or the `empty` note. */
export function ListPanel<T>({
  id,
  heading,
  error,
  items,
  empty,
  columns,
  row,
  showOlder,
}: {
  id: string;
  heading: string;
  error: string | null;
  items: T[] | null;
  empty: string;
  columns: Column[];
  row(item: T): JSX.Element;
  /** The list is paged and older rows exist: a button loads them. */
  showOlder?: () => void;
}) {
  return (
    <section class="panel" aria-labelledby={`${id}-heading`} id={id}>
      <h2 id={`${id}-heading`}>{heading}</h2>
      <ErrorAlert error={error} />
      {items === null ? null : items.length === 0 ? (
        <p class="note">{empty}</p>
      ) : (
        <table>
          <thead>
            <tr>
              {columns.map((c) => (
                <th key={c.label} scope="col" class={c.num ? 'num' : undefined}>
                  {c.label}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>{items.map(row)}</tbody>
        </table>
      )}
      {showOlder ? (
        <button type="button" id={`${id}-older`} onClick={showOlder}>
          {t('histShowOlder')}
        </button>
      ) : null}
    </section>
  );
}

/** The link-styled button that opens a row's detail; `name` completes its accessible label. */
export function OpenButton({ name, onOpen, children }: { name: string; onOpen(): void; children: ComponentChildren }) {
  return (
    <button type="button" class="link" aria-label={`${t('popOpenDeal')}: ${name}`} onClick={onOpen}>
      {children}
    </button>
  );
}

/** A deal's status as a table cell, styled by `status-<status>`. */
export function StatusCell({ status, label }: { status: string; label: string }) {
  return <td class={`status-${status}`}>{label}</td>;
}

/** A detail section `id` with the back button, its heading (`headingId`) and the load error. */
export function DetailPanel({
  id,
  headingId,
  back,
  onBack,
  heading,
  error,
  children,
}: {
  id: string;
  headingId: string;
  back: string;
  onBack(): void;
  heading: ComponentChildren;
  error: string | null;
  children: ComponentChildren;
}) {
  return (
    <section class="panel" aria-labelledby={headingId} id={id}>
      <button type="button" onClick={onBack}>
        ← {back}
      </button>
      <h2 id={headingId}>{heading}</h2>
      <ErrorAlert error={error} />
      {children}
    </section>
  );
}

/** One `<dt>`/`<dd>` pair of a detail's definition list. */
export function Field({ label, class: className, id, children }: { label: string; class?: string; id?: string; children: ComponentChildren }) {
  return (
    <>
      <dt>{label}</dt>
      <dd class={className} id={id}>
        {children}
      </dd>
    </>
  );
}

/** Why a deal failed, when it did. */
export function ErrorReason({ error }: { error: ErrorInfo | undefined }) {
  return error ? (
    <Field label={t('popReason')} class="mono">
      {error.code}: {error.message}
    </Field>
  ) : null;
}

/** Saves `blob` as `fileName` through a download (never a navigation: the blob stays out of the extension's pages). */
function saveFile(blob: Blob, fileName: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = fileName;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/** Downloads the deal's evidence bundle (exportEvidence): one JSON file anyone can check with `npx semper verify`. */
export function ExportEvidenceButton({ dealId }: { dealId: string }) {
  const [error, setError] = useState<string | null>(null);
  const save = async () => {
    setError(null);
    try {
      const { fileName, json } = await callOperation('exportEvidence', { dealId });
      saveFile(new Blob([json], { type: 'application/json' }), fileName);
    } catch (e) {
      setError(message(e));
    }
  };
  return (
    <p>
      <button type="button" id="export-evidence" title={t('popExportEvidenceHint')} onClick={() => void save()}>
        {t('popExportEvidence')}
      </button>
      <ErrorAlert error={error} />
    </p>
  );
}

/** One button per file the deal delivered (history.goods: goods, decrypted goods, the document, the signed contract), each saved under a safe name. */
export function GoodsDownloads({ dealId }: { dealId: string }) {
  const { data, error } = useLoaded(() => callOperation('history.goods', { dealId }), [dealId]);
  if (!data || data.files.length === 0) return <ErrorAlert error={error} />;
  return (
    <div class="goods-downloads">
      <h3 id="goods-downloads-heading">{t('histDelivered')}</h3>
      <ul class="plain" id="goods-downloads" aria-labelledby="goods-downloads-heading">
        {data.files.map((f) => (
          <li key={f.fileName}>
            <button type="button" data-file={f.fileName} onClick={() => saveFile(new Blob([decodeBase64url(f.data)], { type: f.mediaType }), f.fileName)}>
              {t('histDownload')} <SafeText text={f.fileName} />
            </button>{' '}
            <span class="note mono">({f.mediaType})</span>
          </li>
        ))}
      </ul>
    </div>
  );
}

/** The archived statements of a deal, both directions: the evidence (and, given the deal, its export). */
export function StatementsTable({ id, statements, dealId }: { id: string; statements: ArchivedStatementView[]; dealId?: string }) {
  return (
    <>
      <h3>{t('popStatements')}</h3>
      {dealId && statements.length > 0 ? <ExportEvidenceButton dealId={dealId} /> : null}
      <table id={id}>
        <thead>
          <tr>
            <th scope="col">{t('popColType')}</th>
            <th scope="col">{t('popColDirection')}</th>
            <th scope="col">{t('popColDigest')}</th>
          </tr>
        </thead>
        <tbody>
          {statements.map((s) => (
            <tr key={s.digest} data-type={s.type}>
              <td class="mono">{s.type}</td>
              <td>{s.direction === 'sent' ? t('dirSent') : t('dirReceived')}</td>
              <td class="mono">{s.digest}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}
