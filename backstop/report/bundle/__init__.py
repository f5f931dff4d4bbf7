"""The auditor's evidence bundle of one period: gathered from the evidence stores (`gather`), written as
`evidence.json`, CSV tables, `index.html` and `MANIFEST.sha256` (`files`), and checked again later without
trusting whoever wrote it (`files.verify_bundle`)."""
