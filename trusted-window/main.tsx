import { render } from 'preact';
import '../extension/ui/base.css';
import './trusted-window.css';
import { App } from './App.js';
import { ExchangeApp } from './ExchangeApp.js';
import { OnboardingGate, SetupPage, TokenPage } from './Onboarding.js';
import { TRUSTED_WINDOW_PORT_NAME } from '../extension/content/bridge-protocol.js';
import { localiseDocument } from '../extension/ui/i18n.js';
import { browser, type Runtime } from '../extension/browser.js';

const params = new URLSearchParams(location.search);
const dealId = params.get('deal');
/** Not about a deal: the setup (onboarding) or token-registration view, opened from the popup. */
const view = params.get('view');
/** `kind=exchange`: an exchange deal (certified mail, contract signing); the worker checks the kind again. */
const exchange = params.get('kind') === 'exchange';
localiseDocument(view === 'setup' ? 'obTitle' : view === 'token' ? 'tokTitle' : exchange ? 'xwTitle' : 'twTitle');

// Keep the worker alive while the user reads the offer (port messages reset its idle timer).
// If the worker restarts anyway, it resumes the deal from IndexedDB and this window stays valid.
function keepAlive(): void {
  let port: Runtime.Port | null = null;
  const connect = () => {
    port = browser.runtime.connect({ name: TRUSTED_WINDOW_PORT_NAME });
    port.onDisconnect.addListener(() => {
      void browser.runtime.lastError;
      port = null;
    });
  };
  connect();
  setInterval(() => {
    if (!port) connect();
    port?.postMessage('ping');
  }, 20_000);
}
keepAlive();

render(
  view === 'setup' ? (
    <SetupPage />
  ) : view === 'token' ? (
    <TokenPage />
  ) : (
    // The first purchase runs the setup (phrase, picture, identity) before its offer.
    <OnboardingGate>{exchange ? <ExchangeApp dealId={dealId} /> : <App dealId={dealId} />}</OnboardingGate>
  ),
  document.getElementById('app')!,
);
