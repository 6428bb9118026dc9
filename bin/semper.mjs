#!/usr/bin/env node
// `npx semper …`: the command-line tool (scripts/semper-cli.ts), run from the TypeScript sources
// through tsx (a devDependency, present after `npm ci`).
import { register } from 'tsx/esm/api';

register();
const { main } = await import(new URL('../scripts/semper-cli.ts', import.meta.url).href);
process.exitCode = await main(process.argv.slice(2));
