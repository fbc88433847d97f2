#!/usr/bin/env node
// Runs the compiled build when present (container image), the TypeScript source otherwise (development).
import { existsSync } from 'node:fs';

const compiled = new URL('../dist/main.js', import.meta.url);
if (existsSync(compiled)) {
  const { main } = await import(compiled.href);
  await main(process.argv.slice(2));
} else {
  const { register } = await import('tsx/esm/api');
  register();
  const { main } = await import(new URL('../src/main.ts', import.meta.url).href);
  await main(process.argv.slice(2));
}
