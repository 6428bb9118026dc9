/**
 * The built-in pictures a shopper picks with the security phrase: twelve shape/colour pairs,
 * drawn as inline SVG (bundled, no network). Each pair differs in shape AND colour, so they stay
 * distinguishable without colour vision; foreground/background contrast is at least 3:1.
 */
import { t, type MessageKey } from './i18n.js';

interface EmblemDef {
  paths: string[];
  fg: string;
  bg: string;
  label: MessageKey;
}

export const EMBLEMS: readonly EmblemDef[] = [
  { label: 'emblem0', fg: '#ffd200', bg: '#1a237e', paths: ['M50 8 61 38 94 38 67 57 77 90 50 70 23 90 33 57 6 38 39 38Z'] },
  {
    label: 'emblem1',
    fg: '#c62828',
    bg: '#fff3e0',
    paths: ['M50 88C20 66 8 50 8 33 8 19 19 9 32 9c8 0 14 4 18 11 4-7 10-11 18-11 13 0 24 10 24 24 0 17-12 33-42 55Z'],
  },
  { label: 'emblem2', fg: '#fff59d', bg: '#263238', paths: ['M60 8A42 42 0 1 0 92 62 34 34 0 1 1 60 8Z'] },
  {
    label: 'emblem3',
    fg: '#e65100',
    bg: '#fffde7',
    paths: [
      'M50 30a20 20 0 1 1 0 40 20 20 0 1 1 0-40Z',
      'M47 4h6v16h-6zM47 80h6v16h-6zM4 47h16v6H4zM80 47h16v6H80zM16 20l4-4 12 12-4 4zM68 72l4-4 12 12-4 4zM16 80l12-12 4 4-12 12zM68 28l12-12 4 4-12 12z',
    ],
  },
  { label: 'emblem4', fg: '#0277bd', bg: '#e1f5fe', paths: ['M50 6C38 28 20 46 20 64a30 30 0 0 0 60 0C80 46 62 28 50 6Z'] },
  { label: 'emblem5', fg: '#2e7d32', bg: '#f1f8e9', paths: ['M50 8C82 22 90 56 50 88 10 56 18 22 50 8Z', 'M48 40h4v56h-4z'] },
  { label: 'emblem6', fg: '#ffeb3b', bg: '#4a148c', paths: ['M58 4 18 56h26L36 96 82 40H56Z'] },
  { label: 'emblem7', fg: '#ffffff', bg: '#00695c', paths: ['M50 10 92 86H8Z'] },
  { label: 'emblem8', fg: '#ad1457', bg: '#fce4ec', paths: ['M50 4 90 50 50 96 10 50Z'] },
  { label: 'emblem9', fg: '#3e2723', bg: '#ffcc80', paths: ['M50 6 88 28v44L50 94 12 72V28Z'] },
  { label: 'emblem10', fg: '#ffffff', bg: '#b71c1c', paths: ['M38 10h24v28h28v24H62v28H38V62H10V38h28Z'] },
  {
    label: 'emblem11',
    fg: '#6a1b9a',
    bg: '#f3e5f5',
    paths: [
      'M50 8a16 16 0 1 1 0 32 16 16 0 1 1 0-32ZM50 60a16 16 0 1 1 0 32 16 16 0 1 1 0-32ZM20 34a16 16 0 1 1 0 32 16 16 0 1 1 0-32ZM80 34a16 16 0 1 1 0 32 16 16 0 1 1 0-32Z',
    ],
  },
];

export function emblemLabel(index: number): string {
  const def = EMBLEMS[index];
  return def ? t(def.label) : '';
}

/** One emblem; `decorative` hides it from assistive technology when a text label sits next to it. */
export function Emblem({ index, size = 48, id, decorative = false }: { index: number; size?: number; id?: string; decorative?: boolean }) {
  const def = EMBLEMS[index];
  if (!def) return null;
  const a11y = decorative ? { 'aria-hidden': 'true' as const } : { role: 'img' as const, 'aria-label': t(def.label) };
  return (
    <svg class="emblem" id={id} data-emblem={index} width={size} height={size} viewBox="0 0 100 100" {...a11y}>
      <title>{t(def.label)}</title>
      <rect width="100" height="100" rx="16" fill={def.bg} />
      {def.paths.map((d) => (
        <path key={d} d={d} fill={def.fg} />
      ))}
    </svg>
  );
}
