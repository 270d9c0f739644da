// Writes a brotli (.br) and a gzip (.gz) copy beside each text asset of the build, for the
// static route (peerlearn/static_files.py) and nginx's gzip_static / brotli_static to serve.
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';

const DIST = 'peerlearn/static/dist';
const TEXT = new Set(['.css', '.js', '.json', '.map', '.svg']);

function* files(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* files(path);
    else if (TEXT.has(extname(entry.name))) yield path;
  }
}

for (const path of files(DIST)) {
  const source = readFileSync(path);
  if (statSync(path).size < 256) continue; // smaller than the headers a compressed answer adds
  writeFileSync(`${path}.br`, brotliCompressSync(source, {
    params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: source.length },
  }));
  writeFileSync(`${path}.gz`, gzipSync(source, { level: 9 }));
}
