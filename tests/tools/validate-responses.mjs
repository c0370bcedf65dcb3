// Check actual API responses against the schemas of benchside's own OpenAPI
// document, with Ajv (JSON Schema). usage:
//   node validate-responses.mjs OPENAPI.json SAMPLES.json
// SAMPLES.json is [{"schema": "User", "body": {...}}, ...]. Prints one line per
// failure and exits 1 if any sample does not match.
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { readFileSync } from 'node:fs';

const [docFile, samplesFile] = process.argv.slice(2);
if (!docFile || !samplesFile) {
  console.error('usage: node validate-responses.mjs OPENAPI.json SAMPLES.json');
  process.exit(2);
}
const doc = JSON.parse(readFileSync(docFile, 'utf8'));
const samples = JSON.parse(readFileSync(samplesFile, 'utf8'));
// OpenAPI 3.0 marks optional nulls with "nullable"; Ajv knows the keyword.
const ajv = new Ajv({ strict: false, allErrors: true });
addFormats(ajv);
// OpenAPI 3.0 writes an exclusive bound as a boolean beside minimum/maximum;
// JSON Schema (draft 7, Ajv's) as the bound itself.
function exclusiveBounds(node) {
  if (Array.isArray(node)) {
    node.forEach(exclusiveBounds);
  } else if (node && typeof node === 'object') {
    for (const [flag, bound] of [['exclusiveMinimum', 'minimum'], ['exclusiveMaximum', 'maximum']]) {
      if (typeof node[flag] === 'boolean') {
        if (node[flag] && typeof node[bound] === 'number') {
          node[flag] = node[bound];
          delete node[bound];
        } else {
          delete node[flag];
        }
      }
    }
    Object.values(node).forEach(exclusiveBounds);
  }
}
exclusiveBounds(doc.components);
ajv.addSchema({ components: doc.components }, 'openapi');
let bad = 0;
for (const [i, s] of samples.entries()) {
  const validate = ajv.getSchema(`openapi#/components/schemas/${s.schema}`);
  if (!validate) {
    console.log(`sample ${i}: no schema named ${s.schema}`);
    bad++;
    continue;
  }
  if (!validate(s.body)) {
    console.log(`sample ${i} (${s.schema}): ${ajv.errorsText(validate.errors)}`);
    bad++;
  }
}
console.log(`${samples.length - bad} of ${samples.length} responses match their schemas`);
process.exit(bad ? 1 : 0);
