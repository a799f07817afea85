#!/usr/bin/env node
// Runs Kith's TypeScript sources directly (tsx), so there is no build step between a clone and a server.
import { register } from 'tsx/esm/api';

register();
await import('../src/main.ts');
