#!/usr/bin/env node
// The kvmsim command. TypeScript sources run through tsx's loader, so there is no build step.
import { register } from 'tsx/esm/api';

register();
const { main, guardStdout } = await import('../src/cli/main.ts');
guardStdout();
process.exitCode = await main(process.argv);
