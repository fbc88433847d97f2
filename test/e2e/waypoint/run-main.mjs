// Runs an app's src/main.ts through tsx: `node run-main.mjs <path/to/main.ts> args...` (the bins prefer a
// compiled dist/ that cannot resolve workspace packages in the repository).
const { register } = await import('tsx/esm/api');
register();
const [entry, ...args] = process.argv.slice(2);
const { main } = await import(new URL(entry, `file://${process.cwd()}/`).href);
await main(args);
