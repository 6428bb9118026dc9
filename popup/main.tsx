import { render } from 'preact';
import '../extension/ui/base.css';
import './popup.css';
import { App } from './App.js';
import { localiseDocument } from '../extension/ui/i18n.js';

localiseDocument('popTitle');
render(<App />, document.getElementById('app')!);
