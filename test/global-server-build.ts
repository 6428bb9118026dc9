/**
 * Vitest global setup: the built parties the cluster tests start (test/helpers/party-cluster.ts
 * `builtCluster`, one folder per test worker under dist-server/) are removed when the run ends —
 * workers are stopped without an exit event of their own.
 */
import { readdirSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export default function setup(): () => void {
  return () => {
    const root = fileURLToPath(new URL('../dist-server/', import.meta.url));
    let names: string[] = [];
    try {
      names = readdirSync(root);
    } catch {
      return;
    }
    for (const name of names) if (name.startsWith('test-')) rmSync(`${root}${name}`, { recursive: true, force: true });
  };
}
