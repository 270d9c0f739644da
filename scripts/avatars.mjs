// Writes generated avatars as SVG files, for the demo data (`flask seed-demo`).
//
// Reads a JSON array of {"seed": "...", "path": "..."} on stdin and writes one SVG per entry,
// drawn locally by DiceBear's "notionists" style (CC0): the same seed always gives the same face.
// Prints the number of files written. Nothing is fetched from the network.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";

import { createAvatar } from "@dicebear/core";
import * as notionists from "@dicebear/notionists";

const BACKGROUNDS = ["c7d2fe", "bae6fd", "bbf7d0", "fde68a", "fecaca", "e9d5ff"];

const requests = JSON.parse(readFileSync(0, "utf8"));
for (const { seed, path } of requests) {
  const svg = createAvatar(notionists, {
    seed,
    size: 128,
    backgroundColor: BACKGROUNDS,
    backgroundType: ["solid"],
  }).toString();
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, svg);
}
process.stdout.write(`${requests.length}\n`);
