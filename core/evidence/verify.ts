/**
 * verifyBundle: everything `semper verify` checks, offline, on an untrusted bundle.
 *
 * Bundle level (any failure makes the bundle fail):
 *   - the shape and size limits (bundle.ts);
 *   - every statement is of this deal (statement.dealId = deal.id): a bundle is one deal's evidence;
 *   - no statement twice (by digest), no attachment twice, no time stamp twice for one statement;
 *   - every CRL verifies under the certificate of its issuer, found among the statements'
 *     certificates and the trusted roots (a CRL from nobody is refused, not ignored);
 *   - every time stamp is of a statement in the bundle;
 *   - every attachment's digest is SHA-256 of its data.
 * Per statement (each gets its own result; any failure makes the bundle fail):
 *   - the artefacts for OpenSSL equal what the statement itself gives (bundle.ts): so OpenSSL checks
 *     the very bytes verified here;
 *   - verifyStatement: schema, certificate chain to a trusted root, signature (WebAuthn checks for
 *     webauthn-ES256, with the signer's own RP ID and, unless configured, that RP ID as origin);
 *   - the chain is validated at the time the statement was signed: the time stamp's genTime when a
 *     time stamp was checked (a TSA's word, independent of the signer), else the statement's own
 *     issuedAt (the signer's claim; the report says so). Not at `now`: evidence must stay checkable
 *     after the certificates expire, and a certificate revoked after signing does not undo a
 *     signature made while it was good;
 *   - revocation from the bundle's CRLs: a certificate whose CRL entry's revocationDate is at or
 *     before the signing time fails (ERR_CERT_REVOKED); one revoked later passes, with a note.
 *     A CRL is verified at its own thisUpdate (its signature and issuer; freshness is not the
 *     question for evidence); with no CRL for an issuer, the report says revocation was not checked.
 */
// tsyringe under @peculiar/x509 needs the polyfill first; core/pki no longer loads it for everyone.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { createWebAuthnVerifier } from '../crypto/webauthn.js';
import { FIREFOX_WEBAUTHN_ORIGIN } from '../protocol/extension-id.js';
import { jwkThumbprint } from '../crypto/jwk.js';
import { decodeBase64url, encodeBase64url, sha256 } from '../encoding/index.js';
import { SemperError, isSemperError } from '../errors.js';
import { readCertificate, type CertificateInfo } from '../pki/certificates.js';
import { verifyCrl } from '../pki/crl.js';
import { canonicalSerial } from '../pki/der.js';
import { Statement } from '../statements/schema.js';
import { statementDigest } from '../statements/sign.js';
import { verifyStatement } from '../statements/verify.js';
import { b64ToBytes, EvidenceBundle, opensslArtefacts } from './bundle.js';
import { plainWords } from './words.js';

export type VerifyTimestamp = (token: Uint8Array<ArrayBuffer>, digest: Uint8Array<ArrayBuffer>, roots: readonly string[]) => Promise<{ genTime: Date }>;

export interface EvidenceTrust {
  /** Trust anchors (base64 DER) for the statements' certificates and the CRLs. */
  roots: readonly string[];
  /** When the check is made (only reported; chains are checked at signing time). */
  now?: Date;
  /** RFC 3161 token verifier; absent: tokens are reported as not checked. */
  verifyTimestamp?: VerifyTimestamp;
  /** Trust anchors for time-stamp authorities (default `roots`). */
  timestampRoots?: readonly string[];
  /**
   * Accepted clientDataJSON origins for webauthn-ES256. Default: the pinned extension's — the signer's
   * RP ID itself when it is an extension origin (Chromium), else the pinned Firefox add-on's WebAuthn
   * origin (a web-domain RP ID); never the web site at the RP ID (Semper statements are not signed by pages).
   */
  webauthnOrigins?: readonly string[];
}

export type EvidenceCheck =
  | 'schema'
  | 'deal'
  | 'duplicate'
  | 'openssl-input'
  | 'openssl-signature'
  | 'openssl-key'
  | 'openssl-chain'
  | 'statement'
  | 'crl'
  | 'timestamp'
  | 'attachment';

export interface EvidenceProblem {
  check: EvidenceCheck;
  code: string;
  message: string;
}

export interface StatementResult {
  index: number;
  type?: string;
  role?: string;
  digest?: string;
  ok: boolean;
  problems: EvidenceProblem[];
  signer?: string;
  /** The time the chain was checked at, and where it comes from. */
  checkedAt?: string;
  timeBasis?: 'time-stamp' | 'issuedAt';
  /** 'checked' (a CRL in the bundle covers every certificate), 'not-checked', or notes. */
  revocation: string[];
  proves: string[];
  doesNotProve: string[];
}

export interface EvidenceReport {
  ok: boolean;
  dealId?: string;
  kind?: string;
  exporter?: string;
  exportedAt?: string;
  /** Problems of the bundle as a whole. */
  problems: EvidenceProblem[];
  statements: StatementResult[];
  timestamps: { of: string; status: 'verified' | 'not-checked' | 'failed'; genTime?: string }[];
  attachments: { digest: string; mediaType: string; ok: boolean; referenced: boolean }[];
  /** What the bundle as a whole does not prove, whatever its statements say. */
  notes: string[];
}

function problem(check: EvidenceCheck, e: unknown, fallbackCode = 'ERR_SCHEMA'): EvidenceProblem {
  if (isSemperError(e)) return { check, code: e.code, message: e.message };
  return { check, code: fallbackCode, message: e instanceof Error ? e.message : String(e) };
}

interface ParsedCrl {
  der: string;
  crl: x509.X509Crl;
  /** The issuer certificate it verified under. */
  issuer?: string;
}

// A CRL's signature under one issuer certificate never changes (verified at its own thisUpdate): remember it, bounded.
const verifiedCrls = new Set<string>();
async function verifiedCrl(crl: string, issuer: string, at: Date): Promise<void> {
  const key = `${crl}|${issuer}`;
  if (verifiedCrls.has(key)) return;
  await verifyCrl(crl, issuer, at);
  if (verifiedCrls.size >= 64) verifiedCrls.delete(verifiedCrls.values().next().value!);
  verifiedCrls.add(key);
}

/** The bundle's CRLs, each verified (at its own thisUpdate) under a known CA certificate. */
async function checkCrls(der: readonly string[], certificates: readonly string[], problems: EvidenceProblem[]): Promise<ParsedCrl[]> {
  const out: ParsedCrl[] = [];
  const infos = (await Promise.all(certificates.map((c) => readCertificate(c).catch(() => undefined)))).filter((i): i is CertificateInfo => !!i && i.isCA);
  for (const [i, text] of der.entries()) {
    let crl: x509.X509Crl;
    try {
      crl = new x509.X509Crl(b64ToBytes(text));
    } catch (e) {
      problems.push(
        problem('crl', new SemperError('ERR_REVOCATION_UNKNOWN', `CRL ${i + 1}: not a DER CertificateList (${e instanceof Error ? e.message : e})`)),
      );
      continue;
    }
    let issuer: string | undefined;
    let lastError: unknown;
    for (const info of infos.filter((c) => c.subject === crl.issuer)) {
      try {
        await verifiedCrl(text, info.der, crl.thisUpdate);
        issuer = info.der;
        break;
      } catch (e) {
        lastError = e;
      }
    }
    if (!issuer) {
      problems.push(
        problem(
          'crl',
          lastError ??
            new SemperError('ERR_REVOCATION_UNKNOWN', `CRL ${i + 1}: issued by "${crl.issuer}", which is neither a trusted root nor in the statements' chains`),
        ),
      );
      continue;
    }
    out.push({ der: text, crl, issuer });
  }
  return out;
}

function signerName(info: CertificateInfo | undefined, fallback: string): string {
  return info ? `"${info.commonName}" (certified by "${info.issuer.replace(/^.*CN=([^,]+).*$/, '$1')}")` : fallback;
}

/** Verify an untrusted evidence bundle. Never throws for bad input: everything is in the report. */
export async function verifyBundle(input: unknown, trust: EvidenceTrust): Promise<EvidenceReport> {
  const report: EvidenceReport = { ok: false, problems: [], statements: [], timestamps: [], attachments: [], notes: [] };
  const parsed = EvidenceBundle.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    report.problems.push({
      check: 'schema',
      code: 'ERR_SCHEMA',
      message: `evidence bundle: ${issue ? `${issue.path.join('.') || '$'}: ${issue.message}` : 'malformed'}`,
    });
    return report;
  }
  const bundle = parsed.data;
  Object.assign(report, { dealId: bundle.deal.id, kind: bundle.deal.kind, exporter: bundle.deal.exporter, exportedAt: bundle.deal.exportedAt });
  report.notes.push(
    "The deal kind, the exporter, the export time, the roles and the media types of attachments are the exporter's labels: nobody signed them.",
    'A bundle shows the statements its exporter chose to include: it does not prove that no other statement about this deal exists.',
  );

  // Statements: shape first, so certificates are known for the CRLs.
  const statements: (Statement | undefined)[] = bundle.statements.map((s) => {
    const r = Statement.safeParse(s.statement);
    return r.success ? (r.data as Statement) : undefined;
  });
  const certificates = new Set<string>(trust.roots);
  for (const s of statements) if (s?.signature.signer.kind === 'x509') for (const c of s.signature.signer.chain) certificates.add(c);
  const crls = await checkCrls(
    bundle.crls.map((c) => c.der),
    [...certificates],
    report.problems,
  );
  if (new Set(bundle.crls.map((c) => c.der)).size !== bundle.crls.length)
    report.problems.push({ check: 'duplicate', code: 'ERR_SCHEMA', message: 'a CRL appears twice' });

  // Time stamps, by the digest of the statement they cover.
  const digests = await Promise.all(statements.map((s) => (s ? statementDigest(s) : Promise.resolve(undefined))));
  const genTimes = new Map<string, Date>();
  const seenTs = new Set<string>();
  for (const ts of bundle.timestamps) {
    if (seenTs.has(ts.of)) report.problems.push({ check: 'duplicate', code: 'ERR_SCHEMA', message: `two time stamps for statement ${ts.of}` });
    seenTs.add(ts.of);
    if (!digests.includes(ts.of)) {
      report.problems.push({ check: 'timestamp', code: 'ERR_SCHEMA', message: `a time stamp is of ${ts.of}, which is no statement of this bundle` });
      report.timestamps.push({ of: ts.of, status: 'failed' });
      continue;
    }
    if (!trust.verifyTimestamp) {
      report.timestamps.push({ of: ts.of, status: 'not-checked' });
      continue;
    }
    try {
      const { genTime } = await trust.verifyTimestamp(b64ToBytes(ts.token), decodeBase64url(ts.of), trust.timestampRoots ?? trust.roots);
      genTimes.set(ts.of, genTime);
      report.timestamps.push({ of: ts.of, status: 'verified', genTime: genTime.toISOString() });
    } catch (e) {
      report.problems.push(problem('timestamp', e));
      report.timestamps.push({ of: ts.of, status: 'failed' });
    }
  }
  if (report.timestamps.some((t) => t.status === 'not-checked'))
    report.notes.push('Time stamps are present but were not checked (no RFC 3161 verifier was given).');

  const seen = new Set<string>();
  for (const [index, entry] of bundle.statements.entries()) {
    const statement = statements[index];
    const digest = digests[index];
    const result: StatementResult = {
      index,
      ok: false,
      problems: [],
      revocation: [],
      proves: [],
      doesNotProve: [],
      ...(entry.role ? { role: entry.role } : {}),
    };
    report.statements.push(result);
    if (!statement || !digest) {
      try {
        await verifyStatement(entry.statement); // for its typed error
        result.problems.push({ check: 'statement', code: 'ERR_SCHEMA', message: 'statement: malformed' });
      } catch (e) {
        result.problems.push(problem('statement', e));
      }
      continue;
    }
    result.type = statement.type;
    result.digest = digest;
    if (statement.dealId !== bundle.deal.id) {
      result.problems.push({
        check: 'deal',
        code: 'ERR_SCHEMA',
        message: `statement of deal ${statement.dealId}, not of ${bundle.deal.id}: a bundle holds one deal`,
      });
    }
    if (seen.has(digest)) result.problems.push({ check: 'duplicate', code: 'ERR_SCHEMA', message: `statement ${digest} appears twice` });
    seen.add(digest);

    try {
      const expected = await opensslArtefacts(statement);
      if (expected.input !== entry.openssl.input)
        result.problems.push({ check: 'openssl-input', code: 'ERR_SIGNATURE_INVALID', message: 'openssl.input is not the bytes this statement signs' });
      if (expected.signature !== entry.openssl.signature)
        result.problems.push({ check: 'openssl-signature', code: 'ERR_SIGNATURE_INVALID', message: "openssl.signature is not this statement's signature" });
      if (expected.publicKey !== entry.openssl.publicKey)
        result.problems.push({ check: 'openssl-key', code: 'ERR_SIGNATURE_INVALID', message: "openssl.publicKey is not the signer's key" });
      if (expected.chain !== entry.openssl.chain)
        result.problems.push({ check: 'openssl-chain', code: 'ERR_CERT_CHAIN', message: "openssl.chain is not the statement's certificate chain" });
    } catch (e) {
      result.problems.push(problem('statement', e));
    }

    const genTime = genTimes.get(digest);
    const at = genTime ?? new Date(statement.issuedAt);
    result.timeBasis = genTime ? 'time-stamp' : 'issuedAt';
    result.checkedAt = at.toISOString();
    if (genTime && genTime.getTime() + 5 * 60_000 < Date.parse(statement.issuedAt)) {
      result.problems.push({
        check: 'timestamp',
        code: 'ERR_SCHEMA',
        message: `issuedAt ${statement.issuedAt} is after the time stamp's ${genTime.toISOString()}`,
      });
    }
    let covered = true;
    const isRevoked = async (cert: CertificateInfo, issuer: CertificateInfo): Promise<boolean> => {
      const mine = crls.filter((c) => c.issuer === issuer.der);
      if (mine.length === 0) {
        covered = false;
        result.revocation.push(`no CRL in the bundle for "${cert.commonName}"`);
        return false;
      }
      const serial = canonicalSerial(cert.serialNumber);
      for (const { crl } of mine) {
        const entryFor = crl.entries.find((e) => canonicalSerial(e.serialNumber) === serial);
        if (!entryFor) continue;
        if (entryFor.revocationDate.getTime() <= at.getTime()) return true;
        result.revocation.push(`"${cert.commonName}" was revoked on ${entryFor.revocationDate.toISOString()}, after this statement was signed`);
      }
      const newest = mine.reduce((a, b) => (a.crl.thisUpdate > b.crl.thisUpdate ? a : b)).crl.thisUpdate;
      if (newest.getTime() < at.getTime()) {
        covered = false;
        result.revocation.push(`the CRL for "${cert.commonName}" is of ${newest.toISOString()}, before the signing time: later revocations are not known`);
      }
      return false;
    };
    try {
      const { signer } = statement.signature;
      const origins = trust.webauthnOrigins ?? (signer.kind === 'webauthn' ? [signer.rpId.includes('://') ? signer.rpId : FIREFOX_WEBAUTHN_ORIGIN] : []);
      const verified = await verifyStatement(statement, {
        trust: { roots: trust.roots, now: at, isRevoked },
        ...(signer.kind === 'webauthn'
          ? { webauthn: createWebAuthnVerifier({ expectedOrigins: origins, expectedRpIds: [signer.rpId], requireUserVerification: false }) }
          : {}),
      });
      const name =
        signer.kind === 'x509'
          ? signerName(verified.chain?.leaf, 'a certified key')
          : signer.kind === 'webauthn'
            ? `the security key ${signer.credentialId.slice(0, 16)}… (RP ID ${signer.rpId})`
            : `the key ${await jwkThumbprint(verified.signerJwk)}`;
      result.signer = name;
      if (signer.kind === 'x509' && covered) result.revocation.unshift('checked: no certificate of the chain was revoked at the signing time');
      if (signer.kind !== 'x509') result.revocation.push('not applicable: the key is not certified');
      const words = plainWords(statement.type, {
        signer: name,
        certified: signer.kind === 'x509',
        timeBasis: result.timeBasis,
        time: result.checkedAt,
        ...(verified.userVerified !== undefined ? { userVerified: verified.userVerified } : {}),
      });
      if (signer.kind === 'x509' && !covered)
        words.doesNotProve.push('That the certificate was not revoked when it signed: the bundle has no CRL covering the signing time.');
      result.proves = words.proves;
      result.doesNotProve = words.doesNotProve;
    } catch (e) {
      result.problems.push(problem('statement', e));
    }
    result.ok = result.problems.length === 0;
  }

  // Attachments: each is the bytes its digest names; say whether a statement names it.
  const texts = bundle.statements.map((s) => JSON.stringify(s.statement));
  const seenAttachments = new Set<string>();
  for (const a of bundle.attachments) {
    let ok = false;
    try {
      ok = encodeBase64url(await sha256(b64ToBytes(a.data))) === a.digest;
    } catch {
      ok = false;
    }
    if (!ok)
      report.problems.push({ check: 'attachment', code: 'ERR_DELIVERY_MISMATCH', message: `attachment ${a.digest}: its data does not have this digest` });
    if (seenAttachments.has(a.digest)) report.problems.push({ check: 'duplicate', code: 'ERR_SCHEMA', message: `attachment ${a.digest} appears twice` });
    seenAttachments.add(a.digest);
    const referenced = texts.some((t) => t.includes(a.digest));
    report.attachments.push({ digest: a.digest, mediaType: a.mediaType, ok, referenced });
  }

  report.ok = report.problems.length === 0 && report.statements.every((s) => s.ok);
  return report;
}

/** The report in plain words, as `semper verify` prints it. */
export function reportToText(report: EvidenceReport): string {
  const lines: string[] = [];
  lines.push(
    report.ok ? `VERIFIED: evidence bundle of deal ${report.dealId}` : `NOT VERIFIED: evidence bundle${report.dealId ? ` of deal ${report.dealId}` : ''}`,
  );
  if (report.kind) lines.push(`  kind ${report.kind}, exported by ${report.exporter} at ${report.exportedAt} (unsigned labels)`);
  for (const p of report.problems) lines.push(`  ✗ ${p.check}: ${p.code}: ${p.message}`);
  for (const s of report.statements) {
    lines.push('');
    lines.push(`${s.ok ? '✓' : '✗'} statement ${s.index + 1}${s.type ? `: ${s.type}` : ''}${s.role ? ` (${s.role})` : ''}`);
    for (const p of s.problems) lines.push(`    ✗ ${p.check}: ${p.code}: ${p.message}`);
    if (s.ok) {
      lines.push(`    checked at ${s.checkedAt} (${s.timeBasis === 'time-stamp' ? "the time stamp's time" : "the statement's own issuedAt"})`);
      for (const r of s.revocation) lines.push(`    revocation: ${r}`);
      for (const p of s.proves) lines.push(`    proves: ${p}`);
      for (const p of s.doesNotProve) lines.push(`    does not prove: ${p}`);
    }
  }
  for (const t of report.timestamps) lines.push(`time stamp of ${t.of}: ${t.status}${t.genTime ? ` (${t.genTime})` : ''}`);
  for (const a of report.attachments) {
    lines.push(`attachment ${a.digest} (${a.mediaType}): ${a.ok ? 'intact' : 'CHANGED'}${a.referenced ? ', named by a statement' : ', named by no statement'}`);
  }
  if (report.notes.length) lines.push('');
  for (const n of report.notes) lines.push(`note: ${n}`);
  return `${lines.join('\n')}\n`;
}
