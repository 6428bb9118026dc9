/**
 * The README's OpenSSL recipe, run with the real `openssl` binary on a real deal's bundle (tar
 * made by core/evidence/files.ts, unpacked by the system's tar), then on every single-field
 * tampering of it: every field of the bundle makes verifyBundle fail, and every field the recipe
 * reads makes the recipe fail too.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { certificateToPem } from '../../../core/pki/index.js';
import { bundleFiles, EvidenceBundle, tarOf, verifyBundle } from '../../../core/evidence/index.js';
import { makeEvidenceDeal, type EvidenceDealFixture } from '../../evidence/deal-fixture.js';
import { isUnsignedLabel, leaves, positions, setAt, tamperedValue, type Path } from '../../evidence/tamper.js';

const README = readFileSync(join(__dirname, '../../../README.md'), 'utf8');
const RECIPE = (() => {
  const blocks = [...README.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);
  const recipe = blocks.find((b) => b.startsWith('# semper-evidence-recipe'));
  if (!recipe) throw new Error('README has no semper-evidence-recipe block');
  return recipe;
})();

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

  it('fails for a certificate revoked on the CRL, and for another trust root', async () => {
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
    let recipeRuns = 0;
    const survivors: string[] = [];
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
        const parsed = EvidenceBundle.safeParse(tampered);
        if (!parsed.success) continue; // `semper openssl` refuses it: no files, nothing for the recipe to pass
        if (at !== ats[0] && !isBinaryField(path)) continue; // one recipe run per text field; binary fields: every sampled byte
        recipeRuns++;
        const i = typeof path[1] === 'number' && path[0] === 'statements' ? path[1] : undefined;
        const r = await runRecipe(parsed.data, i === undefined ? (path[0] === 'crls' ? [dirOf(original, 0)] : ['statements/01-none/']) : [dirOf(original, i)]);
        if (r.ok) recipeSurvivors.push(`${path.join('.')}@${at}`);
      }
    }
    expect(survivors).toEqual([]);
    expect(recipeSurvivors).toEqual([]);
    expect(checked).toBeGreaterThan(100);
    expect(recipeRuns).toBeGreaterThan(40);
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

function isBinaryField(path: Path): boolean {
  const p = path.join('.');
  return /openssl\.(input|signature|chain|publicKey)$|^crls\.\d+\.der$|signer\.chain\.\d+$/.test(p);
}
