import type { PaymentMethod } from '../payment-method';
import { simulatedGateway } from '../simulated-gateway';

/** Pix: nothing to collect from the buyer here; the simulated gateway approves it. */
const pix: PaymentMethod = {
  name: 'pix',
  fields: {},
  prepare: () => ({
    method: 'pix',
    token: simulatedGateway.tokenize('approve', 'pix'),
    cardLast4: null,
  }),
  charge: (request) => simulatedGateway.charge(request),
  refund: (payment) => simulatedGateway.refund(payment),
};

export default pix;
