/**
 * What the service worker evaluates (issue 13, docs/speed.md "Worker start"), read from the
 * sources' static import graphs:
 * - its start script (manifest.json's service worker, extension/worker/background.ts) answers the
 *   popup's first questions from the stores: it must not reach the deal machines, statements,
 *   certificates, the wallet or the rest of the worker, or a first message would wait for them;
 * - the rest of the worker (extension/worker/main.ts, loaded on first use) must not reach
 *   @peculiar/x509 (with tsyringe and reflect-metadata), nor core/pki's issuing module or its
 *   barrel, which re-exports it. Chain checks, CRLs and the registration CSR use the read modules
 *   over @peculiar/asn1-x509 (core/pki/asn1.ts).
 * Dynamic import() is not followed: Chromium refuses it in a service worker, so nothing the worker
 * needs can hide there.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
const ENTRY = JSON.parse(readFileSync(join(ROOT, 'manifest.json'), 'utf8')).background.service_worker as string;
const STATIC_IMPORT = /^\s*(?:import|export)\s+(?:type\s+)?(?:[^'";]*?\s+from\s+)?['"]([^'"]+)['"]/gm;

function staticGraph(entry: string): { modules: Set<string>; packages: Map<string, string> } {
  const modules = new Set<string>();
  const packages = new Map<string, string>();
  const visit = (file: string) => {
    if (modules.has(file)) return;
    modules.add(file);
    const source = readFileSync(join(ROOT, file), 'utf8');
    for (const m of source.matchAll(STATIC_IMPORT)) {
      if (/^\s*(?:import|export)\s+type\s/.test(m[0])) continue; // erased at build
      const spec = m[1]!;
      if (!spec.startsWith('.')) {
        packages.set(spec, file);
        continue;
      }
      const target = join(dirname(file), spec).replace(/\.js$/, '.ts');
      const path = existsSync(join(ROOT, target)) ? target : target.replace(/\.ts$/, '.tsx');
      visit(path);
    }
  };
  visit(entry);
  return { modules, packages };
}

describe("the service worker's start script", () => {
  const { modules, packages } = staticGraph(ENTRY);

  it('is the start script, and imports none of the deal machinery, statements, certificates, wallet or the rest of the worker', () => {
    expect(ENTRY).toBe('extension/worker/background.ts');
    expect(modules.has('extension/operations/handlers/start.ts')).toBe(true);
    // The deal store's record types and its paging (extension/deals/records.ts, pages.ts) are the stores' own.
    const heavy = [...modules].filter((m) =>
      /^(core\/(commerce|exchange|payment|statements|pki|crypto|evidence|arbiter|timestamp|encoding)\/|extension\/deals\/(?!records\.ts$|pages\.ts$)|extension\/(wallet|payments|disputes|offscreen)\/|extension\/worker\/(main|host)\.ts$|extension\/operations\/(dispatch|table)\.ts$)/.test(
        m,
      ),
    );
    expect(heavy).toEqual([]);
    expect([...packages.keys()].sort()).toEqual(['idb', 'webextension-polyfill', 'zod/mini', 'zod/v4/locales/en.js']);
  });
});

describe('the rest of the worker (main.ts)', () => {
  const { modules, packages } = staticGraph('extension/worker/main.ts');

  it('reaches the certificate reader, and neither @peculiar/x509 nor what pulls it in', () => {
    expect(modules.has('core/pki/certificates.ts')).toBe(true);
    expect(modules.has('core/pki/asn1.ts')).toBe(true);
    expect(modules.has('core/pki/issue.ts')).toBe(false);
    expect(modules.has('core/pki/index.ts')).toBe(false);
    for (const pkg of ['@peculiar/x509', 'reflect-metadata', 'tsyringe']) {
      expect(packages.has(pkg), `${pkg} imported by ${packages.get(pkg)}`).toBe(false);
    }
  });
});
