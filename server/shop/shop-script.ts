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

  async function buy(button) {
    var sku = button.getAttribute('data-sku');
    var field = document.getElementById('quantity');
    var quantity = field ? Number(field.value) : 1;
    var provider = window.semper;
    if (!provider || typeof provider.request !== 'function') {
      show('error', 'The Semper extension is not installed in this browser, so this page cannot ask it for a purchase.', { 'data-reason': 'extension-missing' });
      return;
    }
    button.disabled = true;
    show('pending', 'Waiting for you to confirm the purchase in the Semper window\u2026');
    try {
      var outcome = await provider.request({ method: 'semper_purchase', params: { items: [{ sku: sku, quantity: quantity }] } });
      var titles = (outcome && Array.isArray(outcome.delivered) ? outcome.delivered : []).map(function (d) { return d.title; });
      show('completed', 'Purchase completed. Deal ' + outcome.dealId + '. Delivered: ' + (titles.length ? titles.join('; ') : 'nothing') + '.', {
        'data-deal-id': outcome.dealId,
      });
    } catch (error) {
      var code = error && typeof error.code === 'number' ? error.code : -32603;
      var reason = error && error.data && typeof error.data.reason === 'string' ? error.data.reason : '';
      var message = error && typeof error.message === 'string' ? error.message : String(error);
      show('error', 'Purchase not completed (' + code + (reason ? ', ' + reason : '') + '): ' + message, { 'data-code': code, 'data-reason': reason });
    } finally {
      button.disabled = false;
    }
  }

  Array.prototype.forEach.call(document.querySelectorAll('button[data-semper-buy]'), function (button) {
    button.addEventListener('click', function () { buy(button); });
  });

  // Exchanges (certified mail, contract signing): data-status becomes the outcome
  // (completed | resolved | aborted) or error; data-exchange-id names the exchange at the TTP.
  async function exchange(button) {
    var use = button.getAttribute('data-semper-exchange');
    var id = button.getAttribute('data-document');
    var provider = window.semper;
    if (!provider || typeof provider.request !== 'function') {
      show('error', 'The Semper extension is not installed in this browser.', { 'data-reason': 'extension-missing' });
      return;
    }
    button.disabled = true;
    show('pending', 'Waiting for you to confirm in the Semper window\u2026');
    try {
      var request = use === 'contract-signing'
        ? { method: 'semper_signContract', params: { contractId: id } }
        : { method: 'semper_certifiedMail', params: { documentId: id } };
      var outcome = await provider.request(request);
      var words = { completed: 'Exchange completed', resolved: 'Exchange resolved by the trusted third party', aborted: 'Exchange aborted: nobody got anything' };
      show(outcome.status, (words[outcome.status] || outcome.status) + ': ' + outcome.title + '. Deal ' + outcome.dealId + '.', {
        'data-deal-id': outcome.dealId,
        'data-exchange-id': outcome.exchangeId,
      });
    } catch (error) {
      var code = error && typeof error.code === 'number' ? error.code : -32603;
      var reason = error && error.data && typeof error.data.reason === 'string' ? error.data.reason : '';
      var message = error && typeof error.message === 'string' ? error.message : String(error);
      show('error', 'Exchange not completed (' + code + (reason ? ', ' + reason : '') + '): ' + message, { 'data-code': code, 'data-reason': reason });
    } finally {
      button.disabled = false;
    }
  }

  Array.prototype.forEach.call(document.querySelectorAll('button[data-semper-exchange]'), function (button) {
    button.addEventListener('click', function () { exchange(button); });
  });

  // Fair purchases (goods for money): data-status becomes completed | resolved, or error.
  async function buyFair(button) {
    var sku = button.getAttribute('data-semper-fair');
    var provider = window.semper;
    if (!provider || typeof provider.request !== 'function') {
      show('error', 'The Semper extension is not installed in this browser.', { 'data-reason': 'extension-missing' });
      return;
    }
    button.disabled = true;
    show('pending', 'Waiting for you to confirm and pay in the Semper window…');
    try {
      var outcome = await provider.request({ method: 'semper_buyFair', params: { sku: sku } });
      var words = { completed: 'Paid and delivered', resolved: 'Paid; the trusted third party delivered the key' };
      show(outcome.status, (words[outcome.status] || outcome.status) + ': ' + outcome.title + '. Deal ' + outcome.dealId + '.', { 'data-deal-id': outcome.dealId });
    } catch (error) {
      var code = error && typeof error.code === 'number' ? error.code : -32603;
      var reason = error && error.data && typeof error.data.reason === 'string' ? error.data.reason : '';
      var message = error && typeof error.message === 'string' ? error.message : String(error);
      show('error', 'Purchase not completed (' + code + (reason ? ', ' + reason : '') + '): ' + message, { 'data-code': code, 'data-reason': reason });
    } finally {
      button.disabled = false;
    }
  }

  Array.prototype.forEach.call(document.querySelectorAll('button[data-semper-fair]'), function (button) {
    button.addEventListener('click', function () { buyFair(button); });
  });
})();
`;
