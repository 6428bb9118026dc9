import { describe, expect, it } from 'vitest';
import { verifyBundle, reportToText } from '../../../core/evidence/index.js';
import { makeEvidenceDeal } from '../../evidence/deal-fixture.js';

describe('evidence bundle', () => {
  it('a real deal bundle verifies', async () => {
    const f = await makeEvidenceDeal();
    const report = await verifyBundle(JSON.parse(JSON.stringify(f.bundle)), { roots: [f.root] });
    console.log(reportToText(report));
    console.log(f.bundle.statements.map((s) => s.role));
    expect(report.ok).toBe(true);
  });
});
