/**
 * What the service worker evaluates at start (issue 13, docs/speed.md "Worker start"): its static
 * import graph, read from the sources, must not reach @peculiar/x509 (with tsyringe and
 * reflect-metadata), nor core/pki's issuing module or its barrel, which re-exports it. Chain checks,
 * CRLs and the registration CSR use the read modules over @peculiar/asn1-x509 (core/pki/asn1.ts).
 * Dynamic import() is not followed: Chromium refuses it in a service worker, so nothing the worker
 * needs at start can hide there.
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

describe("the service worker's start imports", () => {
  const { modules, packages } = staticGraph(ENTRY);

  it('reach the certificate reader, and neither @peculiar/x509 nor what pulls it in', () => {
    expect(modules.has('core/pki/certificates.ts')).toBe(true);
    expect(modules.has('core/pki/asn1.ts')).toBe(true);
    expect(modules.has('core/pki/issue.ts')).toBe(false);
    expect(modules.has('core/pki/index.ts')).toBe(false);
    for (const pkg of ['@peculiar/x509', 'reflect-metadata', 'tsyringe']) {
      expect(packages.has(pkg), `${pkg} imported by ${packages.get(pkg)}`).toBe(false);
    }
  });
});
