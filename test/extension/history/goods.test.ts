/** The delivered goods as files (extension/history/goods.ts): safe names, the committed type, what each kind of deal delivered. */
import { describe, expect, it } from 'vitest';
import { decodeBase64url, encodeBase64url } from '../../../core/encoding/base64url.js';
import { STATEMENT_TYPES } from '../../../core/protocol/commerce.js';
import type { ArchiveEntry, DealRecord } from '../../../extension/deals/records.js';
import { distinctNames, extensionOf, goodsOf, safeFileName, saveType } from '../../../extension/history/goods.js';
import { historyHandlers } from '../../../extension/operations/handlers/history.js';
import { MemoryDealStore } from '../../../extension/deals/records.js';
import type { OperationContext } from '../../../extension/operations/context.js';
import { deal } from '../fixtures.js';

const text = (data: string) => new TextDecoder().decode(decodeBase64url(data));

describe('safe file names for goods a merchant delivered', () => {
  it('keeps an ordinary title, with the extension of the committed media type', () => {
    expect(safeFileName('Report: Drying Behaviour of Oxidative Offset Inks', 'text/plain')).toBe('Report - Drying Behaviour of Oxidative Offset Inks.txt');
    expect(safeFileName('Farbatlas 2026', 'application/pdf')).toBe('Farbatlas 2026.pdf');
    expect(safeFileName('Guide.pdf', 'application/pdf')).toBe('Guide.pdf');
  });

  it('drops paths, control, bidi and zero-width characters; the extension comes from the type, not the title', () => {
    expect(safeFileName('../../etc/passwd', 'text/plain')).toBe('etc-passwd.txt');
    expect(safeFileName('C:\\Windows\\evil', 'text/plain')).toBe('C--Windows-evil.txt');
    // U+202E RIGHT-TO-LEFT OVERRIDE would show "report‮fdp.exe" as "reportexe.pdf".
    expect(safeFileName('report\u202Efdp.exe', 'application/pdf')).toBe('reportfdp.exe.pdf');
    expect(safeFileName('a\u0000b\u200Bc\nd', 'text/plain')).toBe('abcd.txt');
    expect(safeFileName('invoice.exe', 'text/plain')).toBe('invoice.exe.txt');
  });

  it('no hidden files, no Windows device names, bounded length, never empty', () => {
    expect(safeFileName('.bashrc', 'text/plain')).toBe('bashrc.txt');
    expect(safeFileName('CON', 'text/plain')).toBe('_CON.txt');
    expect(safeFileName('lpt1', 'text/plain')).toBe('_lpt1.txt');
    expect(safeFileName('x'.repeat(500), 'text/plain')).toBe(`${'x'.repeat(80)}.txt`);
    expect(safeFileName('\u202E\u0007', 'text/plain')).toBe('semper-good.txt');
    expect(safeFileName('...', 'image/png')).toBe('semper-good.png');
  });

  it('the type: well-formed types kept, anything else saved as octet-stream; unknown types get .bin (text: .txt)', () => {
    expect(saveType('image/png')).toBe('image/png');
    expect(saveType('text/html; charset=utf-8')).toBe('application/octet-stream');
    expect(saveType('TEXT/PLAIN')).toBe('application/octet-stream');
    expect(extensionOf('application/x-unknown')).toBe('bin');
    expect(extensionOf('text/x-whatever')).toBe('txt');
  });

  it('distinct names: the second file of a name is numbered', () => {
    const f = { title: 't', fileName: 'Report.txt', mediaType: 'text/plain', data: '' };
    expect(distinctNames([f, f, { ...f, fileName: 'report.TXT' }]).map((x) => x.fileName)).toEqual(['Report.txt', 'Report (2).txt', 'report (3).TXT']);
  });
});

describe('goodsOf: what each kind of deal delivered', () => {
  const delivery = (dealId: string, goods: unknown[], direction: 'sent' | 'received' = 'received'): ArchiveEntry => ({
    dealId,
    direction,
    type: STATEMENT_TYPES.delivery,
    statement: { body: { orderId: 'o'.repeat(43), orderDigest: 'p'.repeat(43), goods } } as never,
    digest: 'd'.repeat(43),
    archivedAt: 1,
  });
  const good = (title: string, content: string, encoding: 'utf8' | 'base64url' = 'utf8', mediaType = 'text/plain') => ({
    sku: 'sku-1',
    title,
    mediaType,
    content,
    encoding,
    digest: 'g'.repeat(43),
  });

  it('a completed purchase: the goods of the delivery it received, UTF-8 and base64url alike', () => {
    const d = deal('completed');
    const files = goodsOf(d, [
      delivery(d.dealId, [good('Ink report', 'Drying times'), good('Ink report', encodeBase64url(new Uint8Array([1, 2])), 'base64url', 'application/pdf')]),
    ]);
    expect(files.map((f) => [f.fileName, f.mediaType])).toEqual([
      ['Ink report.txt', 'text/plain'],
      ['Ink report.pdf', 'application/pdf'],
    ]);
    expect(text(files[0]!.data)).toBe('Drying times');
    expect([...decodeBase64url(files[1]!.data)]).toEqual([1, 2]);
  });

  it('nothing from a purchase that did not complete (a mismatched delivery is evidence, not a good), nor from a delivery it sent', () => {
    const mismatch = deal('delivery-mismatch');
    expect(goodsOf(mismatch, [delivery(mismatch.dealId, [good('Wrong', 'x')])])).toEqual([]);
    const d = deal('completed');
    expect(goodsOf(d, [delivery(d.dealId, [good('x', 'x')], 'sent')])).toEqual([]);
    expect(goodsOf(d, [delivery(d.dealId, [{ title: 'malformed' }])])).toEqual([]);
  });

  it('a completed fair purchase: its decrypted goods under the offer’s title and type', () => {
    const record = {
      kind: 'fair-purchase',
      dealId: 'fair-1',
      state: {
        phase: 'completed',
        offer: { body: { title: 'Colour guide', goods: { mediaType: 'text/markdown' } } },
        goods: encodeBase64url(new TextEncoder().encode('# Guide')),
      },
    } as unknown as DealRecord;
    expect(goodsOf(record, [])).toEqual([
      { title: 'Colour guide', fileName: 'Colour guide.md', mediaType: 'text/markdown', data: encodeBase64url(new TextEncoder().encode('# Guide')) },
    ]);
    expect(goodsOf({ ...record, state: { phase: 'paying' } } as unknown as DealRecord, [])).toEqual([]);
  });

  it('history.goods: the files of a deal; a purse or an unknown deal is not found', async () => {
    const store = new MemoryDealStore();
    const d = deal('completed');
    await store.create(d);
    await store.commit(d, [delivery(d.dealId, [good('Ink report', 'Drying times')])]);
    const ctx = { store } as unknown as OperationContext;
    expect((await historyHandlers['history.goods']({ dealId: d.dealId }, ctx)).files.map((f) => f.fileName)).toEqual(['Ink report.txt']);
    await expect(historyHandlers['history.goods']({ dealId: 'nope' }, ctx)).rejects.toMatchObject({ code: 'ERR_NOT_FOUND' });
  });
});
