/** A party's cluster (server/cluster.ts) in a child process, for the cluster test and the bench. */
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { buildServer } from '../../scripts/build-server.js';

export interface Cluster {
  url: string;
  pids: number[];
  child: ChildProcess;
}

/** `server/cluster.ts <party>` with `processes` workers; resolves with its address once every worker listens. */
export function startCluster(
  party: 'ttp' | 'bank' | 'ca',
  options: {
    processes: number;
    dataDir: string;
    databaseUrl?: string;
    args?: string[];
    /** a built cluster (scripts/build-server.ts) instead of the sources through tsx */
    built?: string;
    /** node flags for the primary, which hands them to its workers (e.g. `--cpu-prof` for the bench) */
    nodeArgs?: string[];
  },
): Promise<Cluster> {
  const child = spawn(
    process.execPath,
    [
      ...(options.nodeArgs ?? []),
      ...(options.built ? [options.built] : ['--import', 'tsx', 'server/cluster.ts']),
      party,
      '--processes',
      String(options.processes),
      '--port',
      '0',
      '--data-dir',
      options.dataDir,
      '--rate',
      '100000000',
      ...(options.args ?? []),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'], env: clusterEnv(options.databaseUrl) },
  );
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', (line) => resolve({ ...(JSON.parse(line) as { url: string; pids: number[] }), child }));
    child.once('exit', (code) => reject(new Error(`the ${party} cluster exited (${code})`)));
  });
}

export async function stopCluster(c: Cluster | undefined): Promise<void> {
  if (!c || c.child.exitCode !== null) return;
  await new Promise((resolve) => {
    c.child.once('exit', resolve);
    c.child.kill('SIGTERM');
  });
}

/** Without a URL the party keeps SQLite files in its data directory, whatever this process's environment says. */
function clusterEnv(databaseUrl: string | undefined): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.SEMPER_DATABASE_URL;
  return databaseUrl ? { ...env, SEMPER_DATABASE_URL: databaseUrl } : env;
}

let built: Promise<string> | undefined;

/**
 * The parties as deployed (npm run build:server), built once per test worker into a folder of its
 * own under dist-server/ (the bundle finds its packages in node_modules there); the run's global
 * teardown removes it (test/global-server-build.ts).
 */
export function builtCluster(): Promise<string> {
  built ??= (async () => {
    const dir = fileURLToPath(new URL(`../../dist-server/test-${process.pid}`, import.meta.url));
    return (await buildServer(dir)).files.cluster;
  })();
  return built;
}
