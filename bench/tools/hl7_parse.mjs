// Time an independent HL7 v2 parser from npm (simple-hl7) on the corpus that
// bench/bench_hl7.c writes: one message per line, segments ending in CR.
//
// usage: node hl7_parse.mjs CORPUS_FILE [PASSES]
//
// Each pass parses every message with the library and then reads every value
// the way it exposes them (header and segments, fields, repetitions,
// components, sub-components), so the work matches benchside's parse plus
// cursor walk. The file is read and decoded once before timing. Prints one
// JSON object: best and median pass, in MB (10^6 bytes of message text, CRs
// included, LFs between messages not) and messages per second.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const hl7 = require("simple-hl7");
const version = require("simple-hl7/package.json").version;

const [file, passArg] = process.argv.slice(2);
if (!file) {
  process.stderr.write("usage: node hl7_parse.mjs CORPUS_FILE [PASSES]\n");
  process.exit(2);
}
const passes = passArg ? Number.parseInt(passArg, 10) : 5;
if (!Number.isInteger(passes) || passes < 1 || passes > 1000) {
  process.stderr.write("PASSES must be 1 to 1000\n");
  process.exit(2);
}

const messages = readFileSync(file, "utf8").split("\n");
if (messages.length && messages[messages.length - 1] === "") messages.pop();
let bytes = 0;
for (const m of messages) bytes += Buffer.byteLength(m, "utf8");

// What a pass saw: it keeps the walk from being optimised away, and every
// pass must see the same.
let segments = 0;
let values = 0;
let valueChars = 0;

function touch(s) {
  values++;
  valueChars += s.length;
}

// A component holds either strings, or arrays of sub-component strings.
function walkComponent(c) {
  for (const v of c.value) {
    if (Array.isArray(v)) for (const s of v) touch(s);
    else touch(v);
  }
}

// A field holds one array of components, or (when it repeats) one nested
// field per repetition.
function walkField(f) {
  for (const v of f.value) {
    if (Array.isArray(v)) for (const c of v) walkComponent(c);
    else walkField(v);
  }
}

function parseAll(parser) {
  segments = 0;
  values = 0;
  valueChars = 0;
  for (const text of messages) {
    const msg = parser.parse(text);
    segments++;
    // MSH-1 and MSH-2: the library keeps them as its delimiters, not as values.
    touch(msg.header.name);
    touch(msg.header.delimiters.fieldSeperator);
    touch(
      msg.header.delimiters.componentSeperator +
        msg.header.delimiters.repititionCharacter +
        msg.header.delimiters.escapeCharacter +
        msg.header.delimiters.subcomponentSeperator,
    );
    for (const f of msg.header.fields) walkField(f);
    for (const seg of msg.segments) {
      segments++;
      touch(seg.name);
      for (const f of seg.fields) walkField(f);
    }
  }
  return [segments, values, valueChars].join(",");
}

const parser = new hl7.Parser();
const first = parseAll(parser); // warm-up, and the figures every pass repeats
const times = [];
for (let i = 0; i < passes; i++) {
  const t0 = process.hrtime.bigint();
  const seen = parseAll(parser);
  times.push(Number(process.hrtime.bigint() - t0) / 1e9);
  if (seen !== first) {
    process.stderr.write("hl7_parse.mjs: passes disagree\n");
    process.exit(1);
  }
}
times.sort((a, b) => a - b);
const n = times.length;
const median = n % 2 ? times[(n - 1) / 2] : (times[n / 2 - 1] + times[n / 2]) / 2;
const round = (x, d) => Number(x.toFixed(d));
process.stdout.write(
  JSON.stringify({
    parser: `simple-hl7@${version}`,
    runtime: `node ${process.version}`,
    passes,
    messages: messages.length,
    message_bytes: bytes,
    segments,
    values,
    mb_per_s: round(bytes / 1e6 / times[0], 1),
    messages_per_s: Math.round(messages.length / times[0]),
    median_mb_per_s: round(bytes / 1e6 / median, 1),
    median_messages_per_s: Math.round(messages.length / median),
  }) + "\n",
);
