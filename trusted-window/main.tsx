import { render } from 'preact';
import '../extension/ui/base.css';
import './trusted-window.css';
import { App } from './App.js';
import { TRUSTED_WINDOW_PORT_NAME } from '../extension/bridge-protocol.js';
import { localiseDocument } from '../extension/ui/i18n.js';

localiseDocument('twTitle');
const dealId = new URLSearchParams(location.search).get('deal');

// Keep the worker alive while the user reads the offer (port messages reset its idle timer).
// If the worker restarts anyway, it resumes the deal from IndexedDB and this window stays valid.
function keepAlive(): void {
  let port: chrome.runtime.Port | null = null;
  const connect = () => {
    port = chrome.runtime.connect({ name: TRUSTED_WINDOW_PORT_NAME });
    port.onDisconnect.addListener(() => {
      void chrome.runtime.lastError;
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

render(<App dealId={dealId} />, document.getElementById('app')!);
