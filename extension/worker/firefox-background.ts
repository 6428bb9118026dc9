/**
 * Firefox's background event page (scripts/firefox-manifest.ts): the rest of the worker first, so
 * the start script (background.ts) finds it on the global scope and never calls importScripts(),
 * which an event page does not have. Firefox keeps an event page's modules between events and has
 * no start-size goal.
 */
import './main.js';
import './background.js';
