/**
 * The installed payment modules, one per method. `choosePaymentMethod` (manager.ts) picks among
 * them by the shopper's allowed order, what the merchant offers and the funds each holds.
 */
import type { PaymentMethod } from '../items/schema.js';
import { accountModule } from './account/index.js';
import { cardModule } from './card/index.js';
import { cashModule } from './cash/index.js';
import { chequeModule } from './cheque/index.js';
import type { PaymentModule } from './types.js';

export const PAYMENT_MODULES: Readonly<Record<PaymentMethod, PaymentModule>> = {
  cash: cashModule,
  account: accountModule,
  cheque: chequeModule,
  card: cardModule,
};

export function paymentModule(method: PaymentMethod): PaymentModule {
  return PAYMENT_MODULES[method];
}
