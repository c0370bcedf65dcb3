// Drive benchside's FHIR R4 API with fhir-kit-client, a FHIR client written
// independently of it. usage:
//   node fhir-client.mjs BASE TOKEN create RESOURCE.json  -> the created resource
//   node fhir-client.mjs BASE TOKEN read TYPE ID          -> the resource
//   node fhir-client.mjs BASE TOKEN search TYPE QUERY     -> {"pages", "total", "resources"}
// search follows the Bundle's next links with the client's nextPage until
// there is none and collects every entry of every page. Prints one JSON
// document; a failed request prints {"error": status, "body": ...} and
// exits 1.
import { Client } from 'fhir-kit-client';
import { readFileSync } from 'node:fs';

const [baseUrl, token, command, ...args] = process.argv.slice(2);
const client = new Client({ baseUrl, bearerToken: token });

async function main() {
  if (command === 'create') {
    const body = JSON.parse(readFileSync(args[0], 'utf8'));
    return client.create({ resourceType: body.resourceType, body });
  }
  if (command === 'read') {
    return client.read({ resourceType: args[0], id: args[1] });
  }
  if (command === 'search') {
    const searchParams = Object.fromEntries(new URLSearchParams(args[1] || ''));
    let bundle = await client.search({ resourceType: args[0], searchParams });
    const out = { pages: 0, total: bundle.total, resources: [], links: [] };
    while (bundle) {
      out.pages += 1;
      out.links.push((bundle.link || []).map((l) => l.relation));
      for (const e of bundle.entry || []) {
        out.resources.push(e.resource);
      }
      bundle = await client.nextPage({ bundle });
    }
    return out;
  }
  throw new Error(`unknown command ${command}`);
}

try {
  process.stdout.write(JSON.stringify(await main()) + '\n');
} catch (e) {
  const status = e.response && e.response.status;
  process.stdout.write(JSON.stringify({ error: status || String(e), body: e.response && e.response.data }) + '\n');
  process.exit(1);
}
