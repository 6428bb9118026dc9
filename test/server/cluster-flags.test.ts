/**
 * The party workers' Node flags (server/cluster.ts workerExecArgv): a smaller young generation than
 * V8's default bounds a worker's peak RSS under load (issue 13), unless the operator chose one.
 */
import { describe, expect, it } from 'vitest';
import { WORKER_SEMI_SPACE_MB, workerExecArgv } from '../../server/cluster.js';

describe('workerExecArgv', () => {
  const flag = `--max-semi-space-size=${WORKER_SEMI_SPACE_MB}`;

  it("adds the semi-space bound to the primary's flags", () => {
    expect(workerExecArgv(['--enable-source-maps'], undefined)).toEqual(['--enable-source-maps', flag]);
    expect(workerExecArgv([], '')).toEqual([flag]);
  });

  it("keeps the operator's own choice, in the flags or in NODE_OPTIONS, in either spelling", () => {
    expect(workerExecArgv(['--max-semi-space-size=32'], undefined)).toEqual(['--max-semi-space-size=32']);
    expect(workerExecArgv(['--max_semi_space_size', '2'], undefined)).toEqual(['--max_semi_space_size', '2']);
    expect(workerExecArgv(['--import', 'tsx'], '--max-old-space-size=512 --max-semi-space-size=4')).toEqual(['--import', 'tsx']);
  });

  it('is not fooled by a flag that only starts the same way', () => {
    expect(workerExecArgv(['--max-semi-space-size-extra=1'], '--max-old-space-size=512')).toEqual(['--max-semi-space-size-extra=1', flag]);
  });
});
