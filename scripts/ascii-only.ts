/**
 * Every emitted script in ASCII, other characters as `\uXXXX` escapes (issue 13, worker start;
 * vite.config.ts). A script with one non-ASCII character (a '§' or '→' in a message) is decoded by
 * Chromium into a two-byte string, and the service worker decodes its start bundle on every start:
 * 10.5 ms of the worker thread's CPU, 2.0 ms once it is ASCII (`npm run bench`, docs/speed.md
 * "Worker start"). The escape means the same in strings, templates' cooked values, regular
 * expressions, identifiers and comments; after a backslash it would not, so the build refuses that.
 */
import type { Plugin } from 'vite';

export function escapeNonAscii(code: string, fileName: string): string {
  return code.replace(/[\u0080-\uffff]/g, (c, offset: number) => {
    if (code[offset - 1] === '\\') throw new Error(`${fileName}: a non-ASCII character after a backslash at ${offset}`);
    return `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
  });
}

export function asciiOnly(): Plugin {
  return {
    name: 'semper-ascii-only',
    apply: 'build',
    enforce: 'post',
    generateBundle(_options, bundle) {
      for (const chunk of Object.values(bundle)) if (chunk.type === 'chunk') chunk.code = escapeNonAscii(chunk.code, chunk.fileName);
    },
  };
}
