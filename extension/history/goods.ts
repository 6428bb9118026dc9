/**
 * The delivered goods of a deal as files to save (issue 11: "export the delivered good"): the
 * purchase's delivered goods, the fair purchase's decrypted goods, certified mail's document and a
 * signed contract's text. Everything here came from a merchant, so the file name is made safe
 * before the browser sees it: no path, no control or bidi characters (an RLO would make
 * "report‮fdp.exe" read as "report.exe…pdf"), no Windows device names, bounded length, and the
 * extension follows the media type the offer committed to, not the title.
 */
import { encodeBase64url } from '../../core/encoding/base64url.js';
import { informationText } from '../../core/commerce/exchange-deal.js';
import { DeliveryBody, STATEMENT_TYPES } from '../../core/protocol/commerce.js';
import type { ArchiveEntry, DealRecord } from '../deals/records.js';

export interface GoodFile {
  /** The good's title, as the merchant gave it (shown through SafeText). */
  title: string;
  /** A safe file name (see safeFileName). */
  fileName: string;
  /** The media type to save it with (a well-formed type/subtype, else application/octet-stream). */
  mediaType: string;
  /** The bytes, base64url. */
  data: string;
}

const EXTENSIONS: Record<string, string> = {
  'text/plain': 'txt',
  'text/markdown': 'md',
  'text/html': 'html',
  'text/csv': 'csv',
  'application/json': 'json',
  'application/pdf': 'pdf',
  'application/zip': 'zip',
  'application/xml': 'xml',
  'text/xml': 'xml',
  'image/png': 'png',
  'image/jpeg': 'jpg',
  'image/gif': 'gif',
  'image/webp': 'webp',
  'image/svg+xml': 'svg',
  'audio/mpeg': 'mp3',
  'video/mp4': 'mp4',
  'application/epub+zip': 'epub',
};

const MEDIA_TYPE = /^[a-z]+\/[a-z0-9.+-]{1,80}$/;

/** The media type to save with: as committed when well-formed, else application/octet-stream. */
export function saveType(mediaType: string): string {
  return MEDIA_TYPE.test(mediaType) ? mediaType : 'application/octet-stream';
}

export function extensionOf(mediaType: string): string {
  return EXTENSIONS[saveType(mediaType)] ?? (saveType(mediaType).startsWith('text/') ? 'txt' : 'bin');
}

const WINDOWS_DEVICES = /^(con|prn|aux|nul|com[0-9]|lpt[0-9])$/i;
const MAX_STEM = 80;

/**
 * A file name for a good titled `title` of type `mediaType`: NFKC; control, format (bidi, zero
 * width), separator and path characters dropped or turned into "-"; no leading dots; at most 80
 * characters before the extension; "semper-good" when nothing is left.
 */
export function safeFileName(title: string, mediaType: string): string {
  const ext = extensionOf(mediaType);
  let stem = title
    .normalize('NFKC')
    .replace(/[\p{Cc}\p{Cf}\p{Co}\p{Cn}\p{Zl}\p{Zp}]/gu, '')
    .replace(/\s*:\s+/g, ' - ')
    .replace(/[<>:"/\\|?*]/g, '-')
    .replace(/\s+/gu, ' ')
    .trim();
  if (stem.toLowerCase().endsWith(`.${ext}`)) stem = stem.slice(0, -(ext.length + 1));
  stem = stem.replace(/^[.\s-]+/u, '').replace(/[.\s]+$/u, '');
  stem = Array.from(stem).slice(0, MAX_STEM).join('').trim();
  if (stem === '') stem = 'semper-good';
  if (WINDOWS_DEVICES.test(stem.split('.')[0]!)) stem = `_${stem}`;
  return `${stem}.${ext}`;
}

/** Distinct names in order: the second "Report.txt" becomes "Report (2).txt". */
export function distinctNames(files: GoodFile[]): GoodFile[] {
  const seen = new Map<string, number>();
  return files.map((f) => {
    const key = f.fileName.toLowerCase();
    const n = (seen.get(key) ?? 0) + 1;
    seen.set(key, n);
    if (n === 1) return f;
    const dot = f.fileName.lastIndexOf('.');
    return { ...f, fileName: `${f.fileName.slice(0, dot)} (${n})${f.fileName.slice(dot)}` };
  });
}

const utf8 = (text: string) => encodeBase64url(new TextEncoder().encode(text));

/** A good as delivered in a purchase (UTF-8 text or base64url). */
export function fileOfDelivered(good: { title: string; mediaType: string; content: string; encoding: 'utf8' | 'base64url' }): GoodFile {
  return {
    title: good.title,
    fileName: safeFileName(good.title, good.mediaType),
    mediaType: saveType(good.mediaType),
    data: good.encoding === 'utf8' ? utf8(good.content) : good.content,
  };
}

/** Information given as base64url (a fair purchase's decrypted goods, certified mail's document). */
export function fileOfInformation(info: { title: string; mediaType: string; data: string }): GoodFile {
  return { title: info.title, fileName: safeFileName(info.title, info.mediaType), mediaType: saveType(info.mediaType), data: info.data };
}

/** A contract's text, as plain text. */
export function fileOfText(title: string, text: string): GoodFile {
  return { title, fileName: safeFileName(title, 'text/plain'), mediaType: 'text/plain', data: utf8(text) };
}

/**
 * The files a stored deal delivered: a completed purchase's goods (from the archived delivery, the
 * statement the merchant signed), a completed fair purchase's decrypted goods, the document certified
 * mail received, a signed contract's text. Nothing for a deal that did not deliver.
 */
export function goodsOf(record: DealRecord, archive: readonly ArchiveEntry[]): GoodFile[] {
  switch (record.kind) {
    case 'purchase': {
      if (record.state.phase !== 'completed') return [];
      const delivery = archive.find((a) => a.type === STATEMENT_TYPES.delivery && a.direction === 'received');
      const goods = delivery ? (DeliveryBody.safeParse(delivery.statement.body).data?.goods ?? []) : [];
      return distinctNames(goods.map(fileOfDelivered));
    }
    case 'fair-purchase': {
      const s = record.state;
      if (s.phase !== 'completed') return [];
      return [fileOfInformation({ title: s.offer.body.title, mediaType: s.offer.body.goods.mediaType, data: s.goods })];
    }
    case 'exchange': {
      const s = record.state;
      const outcome = 'exchange' in s ? (s.exchange?.outcome ?? null) : null;
      const received = outcome && 'received' in outcome ? outcome.received : undefined;
      const files: GoodFile[] = [];
      const doc = received ? informationText(received) : undefined;
      if (doc && record.view?.document) files.push(fileOfInformation({ title: record.view.document.title, mediaType: doc.mediaType, data: doc.data }));
      if (record.view?.contract && received) files.push(fileOfText(record.view.contract.title, record.view.contract.text));
      return distinctNames(files);
    }
    default:
      return [];
  }
}
