/** Single-field tampering of a bundle's JSON: every leaf value, changed in one place. */

export type Path = (string | number)[];

export interface Leaf {
  path: Path;
  value: string | number | boolean | null;
}

export function leaves(value: unknown, path: Path = [], out: Leaf[] = []): Leaf[] {
  if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) leaves(v, [...path, i], out);
  } else if (value !== null && typeof value === 'object') for (const [k, v] of Object.entries(value)) leaves(v, [...path, k], out);
  else out.push({ path, value: value as Leaf['value'] });
  return out;
}

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** Change the character at (or after) `at` to another one of the same kind (so base64 stays base64, dates stay dates). */
export function changeChar(text: string, at: number): string | undefined {
  for (let i = Math.max(0, Math.min(at, text.length - 1)); i < text.length; i++) {
    const c = text[i]!;
    let r: string | undefined;
    if (/[0-9]/.test(c)) r = String((Number(c) + 1) % 10);
    else if (/[A-Za-z]/.test(c)) r = ALNUM[(ALNUM.indexOf(c) + 1) % 52]!;
    else if (c === '-' || c === '_') r = c === '-' ? '_' : '-';
    if (r !== undefined) return text.slice(0, i) + r + text.slice(i + 1);
  }
  return text.length === 0 ? 'x' : `${text}x`;
}

/** The positions to tamper with in a string: one in the middle, and for long ones a sample more (never the last 4: base64 padding bits). */
export function positions(text: string, sample = 3): number[] {
  const n = text.length;
  if (n <= 8) return [0];
  const usable = n - 4;
  const out = new Set<number>([Math.floor(usable / 2)]);
  if (n > 64) for (let k = 1; k <= sample; k++) out.add(Math.floor((usable * k) / (sample + 1)));
  return [...out];
}

export function tamperedValue(value: Leaf['value'], at = 0): Leaf['value'] {
  if (typeof value === 'string') return changeChar(value, at)!;
  if (typeof value === 'number') return value + 1;
  if (typeof value === 'boolean') return !value;
  return 0;
}

export function setAt<T>(root: T, path: Path, value: unknown): T {
  const copy = structuredClone(root) as unknown;
  let node = copy as Record<string | number, unknown>;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, unknown>;
  node[path[path.length - 1]!] = value;
  return copy as T;
}

/** Labels nobody signs, so changing them changes nothing that can be checked (docs/evidence.md). */
export function isUnsignedLabel(path: Path): boolean {
  const p = path.join('.');
  return /^deal\.(kind|exporter|exportedAt)$/.test(p) || /^statements\.\d+\.role$/.test(p) || /^attachments\.\d+\.mediaType$/.test(p);
}
