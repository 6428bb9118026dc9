/** A party's cluster (server/cluster.ts) in a child process, for the cluster test and the bench. */
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface Cluster {
  url: string;
  pids: number[];
  child: ChildProcess;
}

/** `server/cluster.ts <party>` with `processes` workers; resolves with its address once every worker listens. */
export function startCluster(
  party: 'ttp' | 'bank' | 'ca',
  options: { processes: number; dataDir: string; databaseUrl?: string; args?: string[] },
): Promise<Cluster> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'server/cluster.ts',
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
