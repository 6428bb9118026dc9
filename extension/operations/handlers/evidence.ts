/**
 * exportEvidence: a deal's evidence bundle (core/evidence), for the popup's "Export evidence"
 * button (built by disputes/bundle.ts, the same bundle a dispute files).
 */
import { bundleToJson } from '../../../core/evidence/bundle.js';
import { dealBundle } from '../../disputes/bundle.js';
import type { Handlers } from '../context.js';

export const evidenceHandlers: Handlers<'exportEvidence'> = {
  async exportEvidence({ dealId }, { store, now }) {
    const { bundle } = await dealBundle(store, dealId, now());
    return { fileName: `semper-evidence-${dealId}.json`, json: bundleToJson(bundle) };
  },
};
