// HL7 v2 interoperability with simple-hl7, an npm library nobody here wrote.
// usage:
//   node hl7-interop.mjs parse MESSAGES.json
//     MESSAGES.json is an array of message texts (segments ended by CR). Prints
//     a JSON array: for each, its MSH-9 and MSH-10 and every segment's id and
//     field count as simple-hl7 reads them.
//   node hl7-interop.mjs send HOST PORT MESSAGES.json
//     Sends each message over MLLP with simple-hl7's TCP client on one
//     connection, waiting for each acknowledgment; prints a JSON array of
//     {"code": MSA-1, "control": MSA-2, "error": ERR-8} per message.
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';

const require = createRequire(import.meta.url);
const hl7 = require('simple-hl7');

const [mode, ...args] = process.argv.slice(2);

function seg(msg, name) {
  return msg.segments.find((s) => s.name === name);
}

function text(v) {
  return v === undefined || v === null ? '' : String(v);
}

if (mode === 'parse') {
  const parser = new hl7.Parser({ segmentSeperator: '\r' });
  const out = JSON.parse(readFileSync(args[0], 'utf8')).map((m) => {
    const msg = parser.parse(m);
    return {
      type: msg.header.getComponent(7, 1) + '^' + msg.header.getComponent(7, 2),
      control: text(msg.header.getField(8)),
      segments: [['MSH', msg.header.fields.length]].concat(
        msg.segments.map((s) => [s.name, s.fields.length])),
    };
  });
  console.log(JSON.stringify(out));
} else if (mode === 'send') {
  const [host, port, file] = args;
  const messages = JSON.parse(readFileSync(file, 'utf8'));
  const client = hl7.Server.createTcpClient({ host, port: Number(port), keepalive: true });
  const results = [];
  const next = (i) => {
    if (i === messages.length) {
      client.close();
      console.log(JSON.stringify(results));
      return;
    }
    client.send(messages[i], (err, ack) => {
      if (err) {
        console.error(String(err));
        process.exit(1);
      }
      const msa = seg(ack, 'MSA');
      const errseg = seg(ack, 'ERR');
      results.push({
        code: text(msa.getField(1)),
        control: text(msa.getField(2)),
        error: errseg ? text(errseg.getField(8)) : null,
      });
      setImmediate(() => next(i + 1)); // the client clears its busy flag after this callback
    });
  };
  next(0);
} else {
  console.error('usage: node hl7-interop.mjs parse MESSAGES.json | send HOST PORT MESSAGES.json');
  process.exit(2);
}
