// Writes a brotli (.br) and a gzip (.gz) copy beside each text asset of the build, for the
// static route (peerlearn/static_files.py) and nginx's gzip_static / brotli_static to serve.
// The files kept from earlier builds (scripts/asset_manifest.mjs) keep the copies they have.
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';

const DIST = 'peerlearn/static/dist';
const TEXT = new Set(['.css', '.js', '.json', '.map', '.svg']);

function* files(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* files(path);
    else if (TEXT.has(extname(entry.name)) && !entry.name.startsWith('.')) yield path;
  }
}

function fresh(path, modified) {
  return existsSync(path) && statSync(path).mtimeMs >= modified;
}

for (const path of files(DIST)) {
  const { size, mtimeMs } = statSync(path);
  if (size < 256) continue; // smaller than the headers a compressed answer adds
  if (fresh(`${path}.br`, mtimeMs) && fresh(`${path}.gz`, mtimeMs)) continue;
  const source = readFileSync(path);
  writeFileSync(`${path}.br`, brotliCompressSync(source, {
    params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: source.length },
  }));
  writeFileSync(`${path}.gz`, gzipSync(source, { level: 9 }));
}
