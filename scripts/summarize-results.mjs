// Prints the one line CI reads, "N passed, N failed", from vitest's JSON report plus the
// type-check and lint steps (each counted as one test). Exits 1 when anything failed.
import { existsSync, readFileSync } from 'node:fs';

const [file, extraPassed = '0', extraFailed = '0'] = process.argv.slice(2);
let passed = Number(extraPassed);
let failed = Number(extraFailed);
let skipped = 0;
if (file !== undefined && existsSync(file)) {
  const report = JSON.parse(readFileSync(file, 'utf8'));
  passed += report.numPassedTests ?? 0;
  failed += report.numFailedTests ?? 0;
  skipped += (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
  // A file that fails to load has no tests but must count as a failure.
  for (const suite of report.testResults ?? []) {
    if (suite.status === 'failed' && (suite.assertionResults ?? []).length === 0) failed += 1;
  }
} else {
  failed += 1;
  console.error(`no vitest report at ${file}`);
}
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed > 0 ? 1 : 0);
