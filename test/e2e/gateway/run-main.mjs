// `node run-main.mjs <path/to/main.ts> args...`: runs an app's src/main.ts through tsx (the bin would prefer
// a possibly stale dist/).
const { register } = await import('tsx/esm/api');
register();
const [entry, ...args] = process.argv.slice(2);
const { main } = await import(new URL(entry, `file://${process.cwd()}/`).href);
await main(args);
