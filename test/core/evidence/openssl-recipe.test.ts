/**
 * The README's OpenSSL recipe, run with the real `openssl` binary on a real deal's bundle (tar
 * made by core/evidence/files.ts, unpacked by the system's tar), then on every single-field
 * tampering of it: every field of the bundle makes verifyBundle fail, and every field the recipe
 * reads makes the recipe fail too.
 */
import { RECIPE } from '../../evidence/recipe.js';
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { dirname } from 'node:path';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { certificateToPem } from '../../../core/pki/index.js';
import { bundleFiles, EvidenceBundle, tarOf, verifyBundle } from '../../../core/evidence/index.js';
import { makeEvidenceDeal, type EvidenceDealFixture } from '../../evidence/deal-fixture.js';
import { isUnsignedLabel, leaves, positions, setAt, tamperedValue, type Path } from '../../evidence/tamper.js';

/**
 * verifyBundle gets every field at every sampled position. The recipe (a few openssl processes per
 * run, slow on a loaded machine) gets, by default, a sample: every field of the OpenSSL artefacts,
 * the header and WebAuthn fields of each statement, its first body member and first signer member,
 * every CRL and attachment field. SEMPER_EVIDENCE_FULL=1 runs it on every field it reads.
 */
const FULL = process.env.SEMPER_EVIDENCE_FULL === '1';

function inRecipeSample(path: Path, firsts: Set<string>, sameKindAsFirst: Set<number>): boolean {
  const p = path.join('.');
  // Statements signed like an earlier one (here the merchant's certified ES256 confirmation and delivery, like its offer) are left to FULL.
  if (path[0] === 'statements' && sameKindAsFirst.has(path[1] as number)) return false;
  // Header members go through the same files for every statement: the sample takes them from the first.
  if (/^statements\.[1-9]\d*\.statement\.(type|version|dealId|issuedAt)$/.test(p)) return false;
  if (firsts.has(p)) return true;
  if (/^statements\.\d+\.statement\.(body|signature\.signer)\./.test(p)) return false;
  return true;
}

let work: string;
let f: EvidenceDealFixture;
let rootPem: string;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'semper-evidence-'));
  f = await makeEvidenceDeal();
  rootPem = join(work, 'root.pem');
  writeFileSync(rootPem, certificateToPem(f.root));
  writeFileSync(join(work, 'recipe.sh'), RECIPE);
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

let n = 0;
/** The recipe's attachment check alone: only `attachments/` written, and one empty statement directory (which fails by itself) to keep the statements' loop short. */
async function runAttachmentCheck(bundle: EvidenceBundle): Promise<{ ok: boolean; out: string }> {
  const dir = join(work, `attachments-${n++}`);
  mkdirSync(join(dir, 'none'), { recursive: true });
  for (const file of await bundleFiles(bundle)) {
    if (!file.path.startsWith('attachments/')) continue;
    mkdirSync(dirname(join(dir, file.path)), { recursive: true });
    writeFileSync(join(dir, file.path), file.data);
  }
  const r = await shRecipe(dir, ['none/']);
  rmSync(dir, { recursive: true, force: true });
  return { ok: !/^FAILED attachments\//m.test(r.out) && /^OK +attachments\//m.test(r.out), out: r.out };
}

function shRecipe(cwd: string, dirs: string[]): Promise<{ ok: boolean; out: string }> {
  return new Promise((resolve) => {
    execFile('sh', [join(work, 'recipe.sh'), ...dirs], { cwd, env: { ...process.env, ROOT: rootPem }, maxBuffer: 1 << 24 }, (error, stdout) =>
      resolve({ ok: !error, out: String(stdout) }),
    );
  });
}

/**
 * Many tampered statement directories checked by few recipe runs: each variant's statement directory
 * (all the recipe reads for it, its crl.pem included) is written as `v<k>/`, and the recipe runs on
 * them in two halves at once; a variant survives if its line says OK.
 */
async function recipeSurvivorsOf(variants: { label: string; bundle: EvidenceBundle; statement: number }[]): Promise<string[]> {
  const dir = join(work, `batch-${n++}`);
  const names: string[] = [];
  for (const [k, v] of variants.entries()) {
    const prefix = dirOf(v.bundle, v.statement);
    const name = `v${k}/`;
    names.push(name);
    for (const file of await bundleFiles(v.bundle)) {
      if (!file.path.startsWith(prefix)) continue;
      const path = join(dir, name, file.path.slice(prefix.length));
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, file.data);
    }
    mkdirSync(join(dir, name), { recursive: true });
  }
  const half = Math.ceil(names.length / 2);
  const outs = await Promise.all([names.slice(0, half), names.slice(half)].filter((h) => h.length).map((h) => shRecipe(dir, h)));
  rmSync(dir, { recursive: true, force: true });
  const out = outs.map((o) => o.out).join('');
  return variants.filter((_, k) => new RegExp(`^OK +v${k}/$`, 'm').test(out)).map((v) => v.label);
}

/** Unpack the bundle's tar in a fresh directory and run the recipe there (on the given statement dirs). */
async function runRecipe(bundle: EvidenceBundle, dirs: string[] = []): Promise<{ ok: boolean; out: string }> {
  const dir = join(work, `run-${n++}`);
  mkdirSync(dir);
  const tar = join(dir, 'deal.tar');
  writeFileSync(tar, tarOf(await bundleFiles(bundle)));
  execFileSync('tar', ['-xf', tar, '-C', dir]);
  const r = spawnSync('sh', [join(work, 'recipe.sh'), ...dirs], { cwd: dir, env: { ...process.env, ROOT: rootPem }, encoding: 'utf8' });
  rmSync(dir, { recursive: true, force: true });
  return { ok: r.status === 0, out: r.stdout + r.stderr };
}

function dirOf(bundle: EvidenceBundle, i: number): string {
  const type = (bundle.statements[i]!.statement as { type: string }).type;
  return `statements/${String(i + 1).padStart(2, '0')}-${type}/`;
}

describe('the README OpenSSL recipe', () => {
  it('passes on a real deal bundle (ES256 certified, ES256 bare key, WebAuthn, certified Ed25519, CRL, attachment)', async () => {
    const r = await runRecipe(f.bundle);
    expect(r.out).not.toContain('FAILED');
    expect(r.ok, r.out).toBe(true);
    expect(r.out.match(/^OK {5}statements/gm)).toHaveLength(f.bundle.statements.length);
    expect(r.out).toContain('OK     attachments/');
  });

  it('fails under another trust root', async () => {
    const wrongRoot = join(work, 'other-root.pem');
    const { makeTestCa } = await import('../../helpers/pki.js');
    writeFileSync(wrongRoot, certificateToPem((await makeTestCa('Other CA')).root));
    const dir = join(work, 'wrong-root');
    mkdirSync(dir);
    writeFileSync(join(dir, 'deal.tar'), tarOf(await bundleFiles(f.bundle)));
    execFileSync('tar', ['-xf', join(dir, 'deal.tar'), '-C', dir]);
    const r = spawnSync('sh', [join(work, 'recipe.sh'), dirOf(f.bundle, 0)], { cwd: dir, env: { ...process.env, ROOT: wrongRoot }, encoding: 'utf8' });
    expect(r.status).not.toBe(0);
  });

  it('every single-field tampering fails verifyBundle, and the recipe where the recipe reads the field', { timeout: 120_000 }, async () => {
    const original = JSON.parse(JSON.stringify(f.bundle)) as EvidenceBundle;
    expect((await verifyBundle(original, { roots: [f.root] })).ok).toBe(true);
    const all = leaves(original);
    let checked = 0;
    const t0 = Date.now();
    let recipeRuns = 0;
    const survivors: string[] = [];
    const statementVariants: { label: string; bundle: EvidenceBundle; statement: number }[] = [];
    const wholeVariants: { label: string; bundle: EvidenceBundle }[] = [];
    const kinds = original.statements.map((e) => {
      const sig = (e.statement as { signature: { alg: string; signer: { kind: string } } }).signature;
      return `${sig.alg}/${sig.signer.kind}`;
    });
    const sameKindAsFirst = new Set(kinds.flatMap((k, i) => (kinds.indexOf(k) < i ? [i] : [])));
    // The first body member and the first signer member of each statement stand for the others in the sample.
    const firsts = new Set<string>();
    for (const { path } of all) {
      const p = path.join('.');
      const m = /^(statements\.\d+\.statement\.(body|signature\.signer))\./.exec(p);
      if (m && ![...firsts].some((f) => f.startsWith(`${m[1]}.`))) firsts.add(p);
    }
    const recipeSurvivors: string[] = [];
    for (const { path, value } of all) {
      if (isUnsignedLabel(path)) continue;
      const ats = typeof value === 'string' ? positions(value) : [0];
      for (const at of ats) {
        const tampered = setAt(original, path, tamperedValue(value, at));
        checked++;
        const report = await verifyBundle(tampered, { roots: [f.root] });
        if (report.ok) survivors.push(`${path.join('.')}@${at}`);
        if (!readByRecipe(path)) continue;
        if (!FULL && !inRecipeSample(path, firsts, sameKindAsFirst)) continue;
        const parsed = EvidenceBundle.safeParse(tampered);
        if (!parsed.success) continue; // `semper openssl` refuses it: no files, nothing for the recipe to pass
        if (at !== ats[0]) continue; // one recipe run per field (verifyBundle gets every sampled position)
        recipeRuns++;
        const i = typeof path[1] === 'number' && path[0] === 'statements' ? path[1] : undefined;
        const label = `${path.join('.')}@${at}`;
        if (i !== undefined || path[0] === 'crls') statementVariants.push({ label, bundle: parsed.data, statement: i ?? 0 });
        else wholeVariants.push({ label, bundle: parsed.data });
      }
    }
    const tVerify = Date.now() - t0;
    // Positive controls in the same runs: every untampered statement directory must pass.
    const controls = original.statements.flatMap((_, i) =>
      FULL || !sameKindAsFirst.has(i) ? [{ label: `control-${i}`, bundle: original, statement: i }] : [],
    );
    const passed = await recipeSurvivorsOf([...controls, ...statementVariants]);
    expect(passed.filter((l) => l.startsWith('control-'))).toEqual(controls.map((c) => c.label));
    recipeSurvivors.push(...passed.filter((l) => !l.startsWith('control-')));
    // Attachments: the recipe's attachment check, with its positive control.
    expect((await runAttachmentCheck(original)).ok).toBe(true);
    for (const v of wholeVariants) if ((await runAttachmentCheck(v.bundle)).ok) recipeSurvivors.push(v.label);
    console.log({ checked, recipeRuns, tVerify, ms: Date.now() - t0 });
    expect(survivors).toEqual([]);
    expect(recipeSurvivors).toEqual([]);
    expect(checked).toBeGreaterThan(100);
    expect(recipeRuns).toBeGreaterThan(FULL ? 100 : 25);
  });
});

describe('time stamps in the recipe and in verifyBundle (a TSA made with openssl ts, certified by the test CA)', () => {
  it('openssl ts -verify passes on the statement it stamps, fails on a changed token; verifyBundle takes genTime through the plug', {
    timeout: 60_000,
  }, async () => {
    const { generateKeyPair } = await import('../../../core/crypto/index.js');
    const { canonicalBytes, encodeBase64 } = await import('../../../core/encoding/index.js');
    const { statementDigest } = await import('../../../core/statements/index.js');
    const dir = join(work, 'tsa');
    mkdirSync(dir);
    // The TSA: a key OpenSSL can use (PKCS #8 PEM) and a certificate from the deal's CA (role tsa: EKU timeStamping, critical).
    const keys = await generateKeyPair('ES256', true);
    const { EKU_TIME_STAMPING, issueCertificate } = await import('../../../core/pki/index.js');
    const tsaDer = await issueCertificate({
      issuerCertificate: f.ca.root,
      issuerPrivateKey: f.ca.keys.privateKey,
      subjectPublicKey: keys.publicKey,
      commonName: 'Semper Test TSA',
      role: 'tsa',
      extendedKeyUsages: [EKU_TIME_STAMPING],
      notBefore: new Date(Date.now() - 86_400_000),
      notAfter: new Date(Date.now() + 86_400_000),
    });
    const pkcs8 = new Uint8Array(await crypto.subtle.exportKey('pkcs8', keys.privateKey));
    writeFileSync(
      join(dir, 'tsa.key'),
      `-----BEGIN PRIVATE KEY-----\n${encodeBase64(pkcs8)
        .match(/.{1,64}/g)!
        .join('\n')}\n-----END PRIVATE KEY-----\n`,
    );
    writeFileSync(join(dir, 'tsa.pem'), certificateToPem(tsaDer));
    writeFileSync(join(dir, 'serial'), '01\n');
    writeFileSync(
      join(dir, 'ts.cnf'),
      [
        '[ tsa ]',
        'default_tsa = t',
        '[ t ]',
        `serial = ${join(dir, 'serial')}`,
        'signer_digest = sha256',
        'default_policy = 1.3.6.1.4.1.99999.1',
        'crypto_device = builtin',
        'digests = sha256',
        'ess_cert_id_alg = sha256',
        '',
      ].join('\n'),
    );
    const statement = f.bundle.statements[0]!.statement;
    writeFileSync(join(dir, 'statement.json'), canonicalBytes(statement));
    const run = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    run(['ts', '-query', '-data', 'statement.json', '-sha256', '-cert', '-no_nonce', '-out', 'q.tsq']);
    run(['ts', '-reply', '-config', 'ts.cnf', '-queryfile', 'q.tsq', '-signer', 'tsa.pem', '-inkey', 'tsa.key', '-token_out', '-out', 'token.der']);
    const token = readFileSync(join(dir, 'token.der'));
    const of = await statementDigest(statement as never);
    const stamped = structuredClone(f.bundle);
    stamped.timestamps.push({ of, token: token.toString('base64') });

    const r = await runRecipe(stamped, [dirOf(stamped, 0)]);
    expect(r.ok, r.out).toBe(true);
    const files = await bundleFiles(stamped);
    expect(files.some((x) => x.path === `${dirOf(stamped, 0)}token.der`)).toBe(true);
    const broken = structuredClone(stamped);
    const bytes = Buffer.from(token);
    bytes[bytes.length - 10]! ^= 1;
    broken.timestamps[0]!.token = bytes.toString('base64');
    expect((await runRecipe(broken, [dirOf(stamped, 0)])).ok).toBe(false);

    // The plug: here OpenSSL itself (the RFC 3161 module will take its place), genTime from the token's text.
    const verifyTimestamp = async (tok: Uint8Array, digest: Uint8Array) => {
      writeFileSync(join(dir, 'check.der'), tok);
      run(['ts', '-verify', '-token_in', '-in', 'check.der', '-digest', Buffer.from(digest).toString('hex'), '-CAfile', rootPem]);
      const text = run(['ts', '-reply', '-token_in', '-in', 'check.der', '-token_out', '-text']).toString();
      return { genTime: new Date(/Time stamp: (.*)/.exec(text)![1]!) };
    };
    const report = await verifyBundle(stamped, { roots: [f.root], verifyTimestamp });
    expect(report.ok).toBe(true);
    expect(report.timestamps[0]!.status).toBe('verified');
    expect(report.statements[0]!.timeBasis).toBe('time-stamp');
    expect(report.statements[0]!.proves.join(' ')).toMatch(/a time-stamp authority says so/);
    expect((await verifyBundle(broken, { roots: [f.root], verifyTimestamp })).ok).toBe(false);
  });
});

/** Fields whose bytes end up in the files the recipe checks. */
function readByRecipe(path: Path): boolean {
  const p = path.join('.');
  if (/^statements\.\d+\.statement\.signature\.value$/.test(p)) return false; // the recipe checks sig.der (openssl.signature); verifyBundle ties the two
  if (/^timestamps\./.test(p)) return false; // none in this bundle
  if (/^deal\.id$/.test(p)) return false; // verifyBundle: statement.dealId = deal.id
  return /^(statements\.\d+\.(statement|openssl)|crls|attachments)\./.test(p);
}
