/** Operations on the saved card (extension/payments/card-payments.ts): add, show, remove. */
import { SemperError } from '../../../core/errors.js';
import type { CardPayments } from '../../payments/card-payments.js';
import type { Handlers, OperationContext } from '../context.js';

function cards(ctx: OperationContext): CardPayments {
  if (!ctx.cards) throw new SemperError('ERR_INTERNAL', 'this worker keeps no card');
  return ctx.cards;
}

export const cardHandlers: Handlers<'settings.addCard' | 'settings.getCard' | 'settings.removeCard'> = {
  async 'settings.addCard'(request, ctx) {
    return { card: await cards(ctx).add(request) };
  },
  async 'settings.getCard'(_request, ctx) {
    return { card: await cards(ctx).get() };
  },
  async 'settings.removeCard'(_request, ctx) {
    return { removed: await cards(ctx).remove() };
  },
};
