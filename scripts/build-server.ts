/**
 * The parties' deployable build (`npm run build:server`): server/cluster.ts (a TTP or bank as
 * several processes, docs/operations.md) bundled with esbuild into dist-server/cluster.mjs, npm
 * packages left to node_modules (better-sqlite3 is native; pg, kysely, zod load as they are).
 *
 * Why a build at all: through tsx every process also holds the TypeScript loader, its transform
 * cache and the source maps of every module — about 60 MB of resident memory per process measured
 * here (a TTP serving: 168 MB under tsx, 107 MB from this bundle), multiplied by the processes
 * of a cluster. `npm start` keeps tsx (one process, nothing to build first).
 */
import { build } from 'esbuild';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const SERVER_ENTRIES = { cluster: 'server/cluster.ts' } as const;

/** Into the repository's dist-server/ by default: the bundle resolves its packages from node_modules above it. */
export async function buildServer(
  outdir = fileURLToPath(new URL('../dist-server', import.meta.url)),
): Promise<{ outdir: string; files: Record<keyof typeof SERVER_ENTRIES, string> }> {
  await build({
    entryPoints: Object.fromEntries(Object.entries(SERVER_ENTRIES).map(([name, file]) => [name, fileURLToPath(new URL(`../${file}`, import.meta.url))])),
    outdir,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    sourcemap: false,
    logLevel: 'warning',
  });
  const files = Object.fromEntries(Object.keys(SERVER_ENTRIES).map((name) => [name, resolve(outdir, `${name}.mjs`)])) as Record<
    keyof typeof SERVER_ENTRIES,
    string
  >;
  return { outdir: resolve(outdir), files };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { files } = await buildServer(process.argv[2]);
  for (const f of Object.values(files)) console.log(f);
}
