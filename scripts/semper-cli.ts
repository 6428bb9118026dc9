/**
 * semper: the command-line tool (bin/semper.mjs).
 *
 *   semper verify FILE [--root ROOT.pem]... [--tsa-root TSA.pem]... [--origin ORIGIN]... [--json]
 *       Checks an evidence bundle offline (core/evidence/verify.ts) and says in plain words what
 *       it proves and what it does not. Exit 0: verified; 1: not verified; 2: usage or unreadable.
 *   semper openssl FILE OUT
 *       Writes the files of the README's OpenSSL recipe: OUT ending in .tar gives a POSIX tar,
 *       anything else a directory.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { bundleFiles, EvidenceBundle, parseBundleText, reportToText, tarOf, verifyBundle, verifyRfc3161Timestamp } from '../core/evidence/index.js';

const USAGE = `usage:
  semper verify FILE [--root ROOT.pem]... [--tsa-root TSA.pem]... [--origin ORIGIN]... [--json]
  semper openssl FILE OUT(.tar | directory)
`;

/** Every certificate in a PEM file, as base64 DER. */
export function certificatesInPem(text: string): string[] {
  return [...text.matchAll(/-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/g)].map((m) => m[1]!.replace(/\s+/g, ''));
}

function readCertificates(file: string): string[] {
  const certs = certificatesInPem(readFileSync(file, 'utf8'));
  if (certs.length === 0) throw new Error(`${file}: no PEM certificate in it`);
  return certs;
}

function out(text: string): void {
  process.stdout.write(text);
}

export async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    if (command === 'verify') {
      const roots: string[] = [];
      const tsaRoots: string[] = [];
      const origins: string[] = [];
      let json = false;
      let file: string | undefined;
      for (let i = 0; i < rest.length; i++) {
        const a = rest[i]!;
        if (a === '--root') roots.push(...readCertificates(rest[++i] ?? ''));
        else if (a === '--tsa-root') tsaRoots.push(...readCertificates(rest[++i] ?? ''));
        else if (a === '--origin') origins.push(rest[++i] ?? '');
        else if (a === '--json') json = true;
        else if (!file && !a.startsWith('--')) file = a;
        else throw new UsageError(`unknown argument ${a}`);
      }
      if (!file) throw new UsageError('verify needs a FILE');
      const bundle = parseBundleText(readFileSync(file, 'utf8'));
      const report = await verifyBundle(bundle, {
        roots,
        now: new Date(),
        verifyTimestamp: verifyRfc3161Timestamp,
        ...(tsaRoots.length ? { timestampRoots: tsaRoots } : {}),
        ...(origins.length ? { webauthnOrigins: origins } : {}),
      });
      if (json) out(`${JSON.stringify(report, null, 2)}\n`);
      else {
        if (roots.length === 0) out('note: no --root given, so no certificate can be trusted: certified signers fail.\n');
        out(reportToText(report));
      }
      return report.ok ? 0 : 1;
    }
    if (command === 'openssl') {
      const [file, target] = rest;
      if (!file || !target) throw new UsageError('openssl needs FILE and OUT');
      const parsed = EvidenceBundle.safeParse(parseBundleText(readFileSync(file, 'utf8')));
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        process.stderr.write(`not an evidence bundle: ${issue ? `${issue.path.join('.')}: ${issue.message}` : 'malformed'}\n`);
        return 1;
      }
      const files = await bundleFiles(parsed.data);
      if (target.endsWith('.tar')) {
        writeFileSync(target, tarOf(files, Date.parse(parsed.data.deal.exportedAt)));
        out(`wrote ${target} (${files.length} files): mkdir ev && tar -xf ${target} -C ev, then the README recipe in ev\n`);
      } else {
        for (const f of files) {
          const path = join(target, f.path);
          if (!resolve(path).startsWith(resolve(target))) throw new Error(`refusing to write outside ${target}: ${f.path}`);
          mkdirSync(dirname(path), { recursive: true });
          writeFileSync(path, f.data);
        }
        out(`wrote ${files.length} files under ${target}: run the README recipe there\n`);
      }
      return 0;
    }
    throw new UsageError(command ? `unknown command ${command}` : 'no command');
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`${e.message}\n${USAGE}`);
      return 2;
    }
    process.stderr.write(`semper: ${e instanceof Error ? e.message : String(e)}\n`);
    return 2;
  }
}

class UsageError extends Error {}
