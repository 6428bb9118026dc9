/**
 * `/shop.js`: the only script on the shop's pages (CSP `script-src 'self'`). It is the
 * "business application" of the SEMPER model: it may ask the shopper's Semper extension for a
 * purchase, and it learns only the outcome. It writes the outcome with textContent only (never
 * as HTML) into #semper-result, with data attributes end-to-end tests wait on:
 *   data-status  pending | completed | error
 *   data-code    numeric provider error code (error only; absent when the extension is missing)
 *   data-reason  SemperErrorCode behind the error, or `extension-missing`
 *   data-deal-id deal id (completed only)
 */
export const SHOP_SCRIPT = String.raw`'use strict';
(function () {
  var result = document.getElementById('semper-result');
  if (!result) return;

  function show(status, text, attributes) {
    result.textContent = text;
    result.setAttribute('data-status', status);
    ['data-code', 'data-reason', 'data-deal-id', 'data-exchange-id'].forEach(function (name) { result.removeAttribute(name); });
    Object.keys(attributes || {}).forEach(function (name) { result.setAttribute(name, String(attributes[name])); });
  }

  // One request to the extension: 'pending' while the shopper decides in the Semper window, then
  // the outcome (completed | resolved | aborted, from the provider) or the typed error.
  async function ask(button, pending, request, failure, describe) {
    var provider = window.semper;
    if (!provider || typeof provider.request !== 'function') {
      show('error', 'The Semper extension is not installed in this browser, so this page cannot ask it for anything.', { 'data-reason': 'extension-missing' });
      return;
    }
    button.disabled = true;
    show('pending', pending);
    try {
      var outcome = await provider.request(request);
      var described = describe(outcome);
      show(described.status, described.text, described.attributes);
    } catch (error) {
      var code = error && typeof error.code === 'number' ? error.code : -32603;
      var reason = error && error.data && typeof error.data.reason === 'string' ? error.data.reason : '';
      var message = error && typeof error.message === 'string' ? error.message : String(error);
      show('error', failure + ' (' + code + (reason ? ', ' + reason : '') + '): ' + message, { 'data-code': code, 'data-reason': reason });
    } finally {
      button.disabled = false;
    }
  }

  function buy(button) {
    var field = document.getElementById('quantity');
    var quantity = field ? Number(field.value) : 1;
    var request = { method: 'semper_purchase', params: { items: [{ sku: button.getAttribute('data-sku'), quantity: quantity }] } };
    return ask(button, 'Waiting for you to confirm the purchase in the Semper window\u2026', request, 'Purchase not completed', function (outcome) {
      var titles = (outcome && Array.isArray(outcome.delivered) ? outcome.delivered : []).map(function (d) { return d.title; });
      return {
        status: 'completed',
        text: 'Purchase completed. Deal ' + outcome.dealId + '. Delivered: ' + (titles.length ? titles.join('; ') : 'nothing') + '.',
        attributes: { 'data-deal-id': outcome.dealId },
      };
    });
  }

  // Exchanges (certified mail, contract signing): data-status becomes the outcome
  // (completed | resolved | aborted) or error; data-exchange-id names the exchange at the TTP.
  function exchange(button) {
    var id = button.getAttribute('data-document');
    var request = button.getAttribute('data-semper-exchange') === 'contract-signing'
      ? { method: 'semper_signContract', params: { contractId: id } }
      : { method: 'semper_certifiedMail', params: { documentId: id } };
    var words = { completed: 'Exchange completed', resolved: 'Exchange resolved by the trusted third party', aborted: 'Exchange aborted: nobody got anything' };
    return ask(button, 'Waiting for you to confirm in the Semper window\u2026', request, 'Exchange not completed', function (outcome) {
      return {
        status: outcome.status,
        text: (words[outcome.status] || outcome.status) + ': ' + outcome.title + '. Deal ' + outcome.dealId + '.',
        attributes: { 'data-deal-id': outcome.dealId, 'data-exchange-id': outcome.exchangeId },
      };
    });
  }

  // Fair purchases (goods for money): data-status becomes completed | resolved, or error.
  function buyFair(button) {
    var request = { method: 'semper_buyFair', params: { sku: button.getAttribute('data-semper-fair') } };
    var words = { completed: 'Paid and delivered', resolved: 'Paid; the trusted third party delivered the key' };
    return ask(button, 'Waiting for you to confirm and pay in the Semper window\u2026', request, 'Purchase not completed', function (outcome) {
      return {
        status: outcome.status,
        text: (words[outcome.status] || outcome.status) + ': ' + outcome.title + '. Deal ' + outcome.dealId + '.',
        attributes: { 'data-deal-id': outcome.dealId },
      };
    });
  }

  [['button[data-semper-buy]', buy], ['button[data-semper-exchange]', exchange], ['button[data-semper-fair]', buyFair]].forEach(function (pair) {
    Array.prototype.forEach.call(document.querySelectorAll(pair[0]), function (button) {
      button.addEventListener('click', function () { pair[1](button); });
    });
  });
})();
`;
