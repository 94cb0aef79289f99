import { createHash, randomBytes } from 'node:crypto';
import type { ChargeRequest, ChargeResult } from './payment-method';

/**
 * The stand-in for a real acquirer, deterministic so tests and demos can choose the outcome: the
 * token says whether the charge will be approved, and the gateway reference is derived from our
 * order id, so a retried charge (a worker crashed after charging) is the same charge.
 */
export const simulatedGateway = {
  tokenize(outcome: 'approve' | 'decline', hint: string): string {
    return `sim_${outcome}_${hint}_${randomBytes(8).toString('hex')}`;
  },

  async charge({ token, reference }: ChargeRequest): Promise<ChargeResult> {
    const gatewayReference = `sim_ch_${createHash('sha256').update(reference).digest('hex').slice(0, 24)}`;
    if (token.startsWith('sim_approve_')) return { approved: true, gatewayReference };
    if (token.startsWith('sim_decline_'))
      return { approved: false, gatewayReference, reason: 'card_declined' };
    return { approved: false, gatewayReference, reason: 'invalid_token' };
  },

  async refund({ gatewayReference }: { gatewayReference: string }) {
    return { refundReference: gatewayReference.replace('sim_ch_', 'sim_re_') };
  },
};
