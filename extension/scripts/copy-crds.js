// Copies the CRD manifests from ../crds into ./crds: the compiled crds/ code (out/crds) finds them at
// "<package root>/crds", and the packaged .vsix must carry them. ../crds stays the single source of truth.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const source = path.join(__dirname, '..', '..', 'crds');
const target = path.join(__dirname, '..', 'crds');
fs.mkdirSync(target, { recursive: true });
for (const file of fs.readdirSync(source)) {
  if (file.endsWith('.yaml')) fs.copyFileSync(path.join(source, file), path.join(target, file));
}
