#!/usr/bin/env bash
# `npm test`: typecheck, lint, unit/protocol/server tests (Node), build the extension, then the e2e and
# attack suites in real Chromium. Ends with one line "N passed, N failed" summing every suite.
set -uo pipefail
cd "$(dirname "$0")/.."
mkdir -p test-results

CHROMIUM="${SEMPER_CHROMIUM:-/usr/bin/chromium}"
if [ ! -x "$CHROMIUM" ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
    echo "Installing Debian's chromium (needed by the e2e tests)..."
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) || { echo "Chromium install failed: run 'apt-get install chromium' and retry."; exit 1; }
  else
    echo "Chromium not found at $CHROMIUM: install it with 'sudo apt-get install chromium' (or set SEMPER_CHROMIUM) and retry."
    exit 1
  fi
fi

# The server suites run on SQLite and, when PostgreSQL is installed, on PostgreSQL too (a throwaway
# cluster per run, test/global-postgres.ts). SEMPER_REQUIRE_POSTGRES=1 (CI) makes its absence an error.
if ! command -v initdb >/dev/null && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  if [ "${SEMPER_REQUIRE_POSTGRES:-}" = "1" ] && [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
    echo "Installing Debian's postgresql (the server suites' second engine)..."
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null) || { echo "PostgreSQL install failed"; exit 1; }
  else
    echo "PostgreSQL not found: the server suites run on SQLite only ('apt-get install postgresql' for both engines)."
  fi
fi

# The Firefox smoke run (test/firefox) runs when Firefox ESR is installed; SEMPER_REQUIRE_FIREFOX=1 (CI)
# makes its absence an error.
if ! command -v "${SEMPER_FIREFOX:-firefox-esr}" >/dev/null; then
  if [ "${SEMPER_REQUIRE_FIREFOX:-}" = "1" ] && [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
    echo "Installing Debian's firefox-esr (the Firefox smoke run)..."
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq firefox-esr >/dev/null) || { echo "Firefox install failed"; exit 1; }
  else
    echo "Firefox ESR not found: the Firefox smoke run is skipped ('apt-get install firefox-esr' to run it)."
  fi
fi

status=0
echo "== typecheck"
npm run -s typecheck || { echo "typecheck failed"; status=1; }

echo "== lint and format (Biome)"
npm run -s lint || { echo "lint failed: run 'npm run format' for what it can fix"; status=1; }

echo "== unit, protocol and server tests"
npx vitest run --reporter=default --reporter=json --outputFile=test-results/unit.json || status=1

echo "== build the extension"
npm run -s build >test-results/build.log 2>&1 || { cat test-results/build.log; echo "build failed"; status=1; }

echo "== e2e and attack suites (built extension in Chromium)"
npx vitest run --config vitest.e2e.config.ts --reporter=default --reporter=json --outputFile=test-results/e2e.json || status=1

node -e '
const fs = require("fs");
let passed = 0, failed = 0;
for (const f of ["test-results/unit.json", "test-results/e2e.json"]) {
  if (!fs.existsSync(f)) { failed += 1; console.log(`(no results in ${f})`); continue; }
  const r = JSON.parse(fs.readFileSync(f, "utf8"));
  passed += r.numPassedTests; failed += r.numFailedTests;
  // Name every failure next to the sum, so the tail of a long log says what failed.
  for (const file of r.testResults ?? []) {
    const rel = String(file.name).replace(process.cwd() + "/", "");
    if (file.status === "failed" && !(file.assertionResults ?? []).some((a) => a.status === "failed"))
      console.log(`FAILED ${rel}: ${String(file.message ?? "").split("\n")[0]}`);
    for (const a of file.assertionResults ?? [])
      if (a.status === "failed") console.log(`FAILED ${rel} > ${a.fullName}: ${String((a.failureMessages ?? [""])[0]).split("\n")[0].slice(0, 300)}`);
  }
  if (r.numTotalTests === 0 || (r.numFailedTestSuites > 0 && r.numFailedTests === 0)) failed += Math.max(1, r.numFailedTestSuites);
}
if (process.argv[1] === "1" && failed === 0) failed = 1;
const line = `${passed} passed, ${failed} failed`;
fs.writeFileSync("test-results/summary.txt", line + "\n");
console.log(line);
process.exit(failed ? 1 : 0);
' "$status"
