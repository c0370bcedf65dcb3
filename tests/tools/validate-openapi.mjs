// Validate an OpenAPI document with @apidevtools/swagger-parser (an
// implementation nobody on this project wrote). usage: node validate-openapi.mjs FILE
import SwaggerParser from '@apidevtools/swagger-parser';
import { readFileSync } from 'node:fs';

const file = process.argv[2];
if (!file) {
  console.error('usage: node validate-openapi.mjs FILE');
  process.exit(2);
}
try {
  const doc = JSON.parse(readFileSync(file, 'utf8'));
  const api = await SwaggerParser.validate(doc);
  const ops = Object.values(api.paths).reduce((n, p) => n + Object.keys(p).length, 0);
  console.log(`valid OpenAPI ${api.openapi}: ${Object.keys(api.paths).length} paths, ${ops} operations`);
} catch (e) {
  console.error(`invalid: ${e.message}`);
  process.exit(1);
}
