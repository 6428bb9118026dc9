import { render } from 'preact';
import '../extension/ui/base.css';
import './trusted-window.css';
import { App } from './App.js';
import { ExchangeApp } from './ExchangeApp.js';
import { FairApp } from './FairApp.js';
import { OnboardingGate, SetupPage, TokenPage } from './Onboarding.js';
import { TRUSTED_WINDOW_PORT_NAME } from '../extension/content/bridge-protocol.js';
import { localiseDocument } from '../extension/ui/i18n.js';
import { browser, type Runtime } from '../extension/browser.js';
import { PRESENTED_MESSAGE, isDealChangedMessage, isPresentMessage } from '../extension/worker/window-presentation.js';
import { DEAL_CHANGED_EVENT, PRESENTED_EVENT } from './components.js';
import { ResultGate } from './Result.js';
import { DisputeScreen } from './DisputeScreen.js';

const params = new URLSearchParams(location.search);
const dealId = params.get('deal');
/** Not a pending deal: the setup (onboarding), token-registration or dispute view, opened from the popup. */
const view = params.get('view');
/** `kind=exchange`: an exchange deal (certified mail, contract signing); the worker checks the kind again. */
const exchange = params.get('kind') === 'exchange';
/** `kind=fair`: a fair purchase (goods for money); the worker checks the kind again. */
const fair = params.get('kind') === 'fair';
localiseDocument(
  view === 'setup' ? 'obTitle' : view === 'token' ? 'tokTitle' : view === 'dispute' ? 'dswTitle' : exchange ? 'xwTitle' : fair ? 'fwTitle' : 'twTitle',
);

// Keep the worker alive while the user reads the offer (port messages reset its idle timer).
// If the worker restarts anyway, it resumes the deal from IndexedDB and this window stays valid;
// the port is connected again at once, so the worker can always reach the window.
// The worker also uses the port before it brings this window forward (worker/window-presentation.ts):
// the window disarms Confirm (PRESENTED_EVENT), answers once that is rendered, and re-arms after
// the worker's second message, when the window is in front.
// It also tells the window when a deal changed, so the result screen shows a step as it happens.
function keepAlive(): void {
  let port: Runtime.Port | null = null;
  let connections = 0;
  const connect = () => {
    const p = browser.runtime.connect({ name: TRUSTED_WINDOW_PORT_NAME });
    const connectedAt = Date.now();
    port = p;
    // Connected again: the worker may have restarted, and changes made meanwhile were told to nobody.
    if (connections++ > 0) window.dispatchEvent(new CustomEvent(DEAL_CHANGED_EVENT, { detail: null }));
    p.onMessage.addListener((message: unknown) => {
      if (isDealChangedMessage(message)) {
        window.dispatchEvent(new CustomEvent(DEAL_CHANGED_EVENT, { detail: message.dealId }));
        return;
      }
      if (!isPresentMessage(message)) return;
      window.dispatchEvent(new Event(PRESENTED_EVENT));
      // Answer after the disarmed Confirm is rendered (Preact renders in a microtask).
      if (message.stage === 'before') setTimeout(() => p.postMessage({ type: PRESENTED_MESSAGE, id: message.id }), 0);
    });
    p.onDisconnect.addListener(() => {
      void browser.runtime.lastError;
      if (port === p) port = null;
      // A port the worker refused at once is not retried until the next ping.
      if (Date.now() - connectedAt > 1000) {
        setTimeout(() => {
          if (!port) connect();
        }, 200);
      }
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
  ) : view === 'dispute' ? (
    // A finished deal's disputes (opened from the popup's deal details): no decision on a pending deal here.
    <DisputeScreen dealId={dealId} />
  ) : (
    // The first purchase runs the setup (phrase, picture, identity) before its offer.
    <OnboardingGate>
      {/* Once the user confirmed, the window shows the deal's result (Result.tsx) instead of closing. */}
      <ResultGate kind={exchange ? 'exchange' : fair ? 'fair' : 'purchase'} dealId={dealId}>
        {exchange ? <ExchangeApp dealId={dealId} /> : fair ? <FairApp dealId={dealId} /> : <App dealId={dealId} />}
      </ResultGate>
    </OnboardingGate>
  ),
  document.getElementById('app')!,
);
