/** The README's OpenSSL-only recipe (the `# semper-evidence-recipe` block), run with `sh` on a bundle's tar. */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundleFiles, tarOf, type EvidenceBundle } from '../../core/evidence/index.js';
import { certificateToPem } from '../../core/pki/index.js';

export const RECIPE = (() => {
  const readme = readFileSync(join(__dirname, '../../README.md'), 'utf8');
  const blocks = [...readme.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);
  const recipe = blocks.find((b) => b.startsWith('# semper-evidence-recipe'));
  if (!recipe) throw new Error('README has no semper-evidence-recipe block');
  return recipe;
})();

/** Unpack the bundle's tar in a fresh directory and run the recipe there with ROOT (and TSA_ROOT) set. */
export async function runReadmeRecipe(bundle: EvidenceBundle, root: string, tsaRoot = root): Promise<{ ok: boolean; out: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'semper-recipe-'));
  try {
    writeFileSync(join(dir, 'recipe.sh'), RECIPE);
    writeFileSync(join(dir, 'root.pem'), certificateToPem(root));
    writeFileSync(join(dir, 'tsa-root.pem'), certificateToPem(tsaRoot));
    writeFileSync(join(dir, 'deal.tar'), tarOf(await bundleFiles(bundle)));
    execFileSync('tar', ['-xf', 'deal.tar'], { cwd: dir });
    const r = spawnSync('sh', ['recipe.sh'], {
      cwd: dir,
      env: { ...process.env, ROOT: join(dir, 'root.pem'), TSA_ROOT: join(dir, 'tsa-root.pem') },
      encoding: 'utf8',
    });
    return { ok: r.status === 0, out: r.stdout + r.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
