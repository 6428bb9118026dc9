/** The shape every rule has: admitted evidence and the verified complaint in, a ruling out. */
import type { AdmittedEvidence } from './evidence.js';
import type { Claim, Decision, StatementTrust, VerifiedComplaint } from './statements.js';

export interface ArbiterTrust extends StatementTrust {
  /** Key ids of banks and payment adapters whose `semper.payment.proof` the arbiter accepts (besides the bank a fair offer names, and certified banks). */
  paymentIssuers?: readonly string[];
}

export interface RuleContext {
  complaint: VerifiedComplaint;
  evidence: AdmittedEvidence;
  trust: ArbiterTrust;
}

export interface Ruling {
  decision: Decision;
  /** Which branch of the rule decided (the verdict's rule id is `<claim>/<branch>`). */
  branch: string;
  reasons: string[];
  missing?: string[];
  remedy?: string;
}

export type Rule = (ctx: RuleContext) => Promise<Ruling>;

export type RuleBook = Record<Claim, Rule>;

/** Does `ref` (a key id or certificate fingerprint) name this signer? */
export function names(ref: string | undefined, signer: { keyId: string; chain?: { leaf: { fingerprint: string } } }): boolean {
  return ref !== undefined && (ref === signer.keyId || ref === signer.chain?.leaf.fingerprint);
}
