// runner.mjs: what the browser scenario files (console.mjs, mobile.mjs) share: a small real
// PNG to upload, and their main loop. main() runs the scenarios named on the command line, or
// with --serve the names read from standard input one a line, on one chromium; each prints
// `ok - NAME (N s)` or `FAIL - NAME: why` (a screenshot of the failed page beside PM_STATE),
// and the process exits 1 when any failed.
import path from "node:path";
import readline from "node:readline";
import zlib from "node:zlib";
import { chromium } from "playwright-core";

function crc32(buf) {
  let c, crc = 0xffffffff;
  for (const b of buf) { c = (crc ^ b) & 0xff; for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1; crc = (crc >>> 8) ^ c; }
  return (crc ^ 0xffffffff) >>> 0;
}

// A w x h gradient as a PNG, so that a thumbnail has something to paint.
export function png(w, h) {
  const chunk = (type, data) => {
    const len = Buffer.alloc(4); len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type), data]), crc = Buffer.alloc(4); crc.writeUInt32BE(crc32(td));
    return Buffer.concat([len, td, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0); ihdr.writeUInt32BE(h, 4); ihdr[8] = 8; ihdr[9] = 2;
  const raw = Buffer.alloc((w * 3 + 1) * h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    const o = y * (w * 3 + 1) + 1 + x * 3;
    raw[o] = 40 + (x * 200) / w; raw[o + 1] = 90 + (y * 120) / h; raw[o + 2] = 160;
  }
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk("IHDR", ihdr),
    chunk("IDAT", zlib.deflateSync(raw)), chunk("IEND", Buffer.alloc(0))]);
}

// scenarios: { name: async (browser, errors) }; page: { get () -> the page a scenario is on or
// null, reset () }; failed: the screenshot's name prefix; usage: printed without a base URL.
export async function main({ scenarios, page, failed: prefix, usage, base, chromiumPath, state }) {
  async function runOne(browser, name) {
    const fn = scenarios[name];
    const t0 = Date.now();
    const errors = [];
    page.reset();
    try {
      if (!fn) throw new Error("no such scenario");
      await fn(browser, errors);
      if (errors.length) throw new Error(errors.join(" | "));
      console.log(`ok - ${name} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
      return true;
    } catch (e) {
      const current = page.get();
      if (current && state) await current.screenshot({ path: path.join(path.dirname(state), prefix + name + ".png") }).catch(() => {});
      if (current) await current.context().close().catch(() => {});
      const lines = String(e.message || e).split("\n");
      const waiting = lines.find((l) => /waiting for/.test(l));
      console.log(`FAIL - ${name}: ${lines[0]}${waiting ? " (" + waiting.trim() + ")" : ""}${errors.length ? " | " + errors.join(" | ") : ""}`);
      return false;
    }
  }
  const args = process.argv.slice(2);
  const serve = args[0] === "--serve";
  if (!base || (!serve && !args.length)) {
    console.error(usage);
    process.exit(2);
  }
  const browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args: ["--no-sandbox", "--disable-dev-shm-usage"] });
  let failures = 0;
  try {
    if (serve) {
      const rl = readline.createInterface({ input: process.stdin });
      for await (const line of rl) if (line.trim() && !(await runOne(browser, line.trim()))) failures++;
    } else {
      for (const name of args) if (!(await runOne(browser, name))) failures++;
    }
  } finally {
    await browser.close();
  }
  process.exit(failures ? 1 : 0);
}
