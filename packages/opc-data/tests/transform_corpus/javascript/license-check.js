// Check the license field of every package.json in the workspace.
// Warranty: none, this is a dev script.

const fs = require('fs');
const path = require('path');

const ALLOWED = new Set(['MIT', 'ISC', 'Apache-2.0', 'BSD-3-Clause']);

function readLicense(dir) {
  const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
  return pkg.license || 'UNLICENSED';
}

function check(dirs) {
  const bad = [];
  for (const dir of dirs) {
    const license = readLicense(dir);
    if (!ALLOWED.has(license)) bad.push(`${dir}: ${license}`);
  }
  return bad;
}

module.exports = { check, readLicense };
