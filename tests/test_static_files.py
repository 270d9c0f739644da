"""The static route hands a browser the build's brotli or gzip copy of an asset when it accepts
that encoding, and the plain file otherwise; pages load the build by its content-hashed names,
cached for a year, and a rebuild keeps the files a page loaded before it still needs."""

import gzip
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from peerlearn import static_files

ROOT = Path(__file__).resolve().parent.parent
NODE = shutil.which("node")

SCRIPT = b"export const greeting = 'hello';\n" * 40


@pytest.fixture
def assets(app, tmp_path):
    folder = tmp_path / "static"
    (folder / "dist").mkdir(parents=True)
    (folder / "dist" / "app.js").write_bytes(SCRIPT)
    (folder / "dist" / "app.js.gz").write_bytes(gzip.compress(SCRIPT))
    (folder / "dist" / "app.js.br").write_bytes(b"brotli bytes of app.js")
    (folder / "dist" / "tiny.js").write_bytes(b"1;")
    app.static_folder = str(folder)
    return folder / "dist"


def get(client, path, accept=None, **headers):
    if accept is not None:
        headers["Accept-Encoding"] = accept
    response = client.get(path, headers=headers)
    response.get_data()  # read, so the file it streamed from can be closed
    response.close()
    return response


def test_brotli_is_preferred_when_accepted(client, assets):
    response = get(client, "/static/dist/app.js", "gzip, deflate, br")
    assert response.status_code == 200
    assert response.headers["Content-Encoding"] == "br"
    assert response.data == b"brotli bytes of app.js"
    assert response.mimetype == "text/javascript"
    assert "Accept-Encoding" in response.headers["Vary"]


def test_gzip_when_only_gzip_is_accepted(client, assets):
    response = get(client, "/static/dist/app.js", "gzip")
    assert response.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(response.data) == SCRIPT
    assert response.mimetype == "text/javascript"


@pytest.mark.parametrize("accept", [None, "identity", "br;q=0, gzip;q=0", "deflate"])
def test_the_plain_file_otherwise(client, assets, accept):
    response = get(client, "/static/dist/app.js", accept)
    assert response.status_code == 200
    assert "Content-Encoding" not in response.headers
    assert response.data == SCRIPT
    assert "Accept-Encoding" in response.headers["Vary"]


def test_a_copy_older_than_its_source_is_not_served(client, assets):
    # `npm run watch` rebuilds app.js without compressing it again.
    os.utime(assets / "app.js", (1000, 1000))
    os.utime(assets / "app.js.br", (999, 999))
    os.utime(assets / "app.js.gz", (1000, 1000))
    response = get(client, "/static/dist/app.js", "gzip, br")
    assert response.headers["Content-Encoding"] == "gzip"
    os.utime(assets / "app.js.gz", (999, 999))
    response = get(client, "/static/dist/app.js", "gzip, br")
    assert "Content-Encoding" not in response.headers
    assert response.data == SCRIPT


def test_a_file_without_copies_is_sent_as_it_is(client, assets):
    response = get(client, "/static/dist/tiny.js", "gzip, br")
    assert response.data == b"1;"
    assert "Content-Encoding" not in response.headers
    assert "Accept-Encoding" not in response.headers.get("Vary", "")


def test_conditional_requests_still_answer_304(client, assets):
    first = get(client, "/static/dist/app.js", "br")
    again = get(client, "/static/dist/app.js", "br", **{"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304


@pytest.mark.parametrize(
    "path", ["/static/dist/missing.js", "/static/../config.py", "/static/dist/app.js.br/x"]
)
def test_missing_or_outside_files_are_404(client, assets, path):
    assert get(client, path, "gzip, br").status_code == 404


# Content-hashed names ------------------------------------------------------------------------

HASHED_JS = "dist/app-4KX2T7QF.js"
HASHED_CSS = "dist/app-0B61C9A2.css"


@pytest.fixture
def built(app, assets):
    (assets / "app-4KX2T7QF.js").write_bytes(SCRIPT)
    (assets / "app-4KX2T7QF.js.br").write_bytes(b"brotli bytes of the hashed bundle")
    (assets / "app-4KX2T7QF.js.gz").write_bytes(gzip.compress(SCRIPT))
    (assets / "app-0B61C9A2.css").write_bytes(b"body{margin:0}")
    (assets / "manifest.json").write_text(json.dumps({"app.js": HASHED_JS, "app.css": HASHED_CSS}))
    static_files.load_manifest(app)
    return assets


def test_pages_load_the_hashed_bundle_and_stylesheet(client, built):
    page = client.get("/").get_data(as_text=True)
    assert f'src="/static/{HASHED_JS}"' in page
    assert f'href="/static/{HASHED_CSS}"' in page
    assert "/static/dist/app.js" not in page and "/static/dist/app.css" not in page


def test_without_a_manifest_pages_load_the_plain_names(app, client, assets):
    static_files.load_manifest(app)  # the fixture's folder has no manifest
    page = client.get("/").get_data(as_text=True)
    assert 'src="/static/dist/app.js"' in page
    assert 'href="/static/dist/app.css"' in page


def test_a_broken_manifest_falls_back_to_the_plain_names(app, client, built):
    (built / "manifest.json").write_text('{"app.js": ')
    static_files.load_manifest(app)
    assert 'src="/static/dist/app.js"' in client.get("/").get_data(as_text=True)


@pytest.mark.parametrize("path", [HASHED_JS, HASHED_CSS])
def test_hashed_names_are_cached_for_a_year(client, built, path):
    response = get(client, f"/static/{path}", "gzip, br")
    assert response.status_code == 200
    cache = response.cache_control
    assert cache.public and cache.immutable and cache.max_age == 365 * 24 * 3600
    assert not cache.no_cache


def test_the_precompressed_copy_of_a_hashed_name_is_served_with_the_long_cache(client, built):
    response = get(client, f"/static/{HASHED_JS}", "gzip, br")
    assert response.headers["Content-Encoding"] == "br"
    assert response.data == b"brotli bytes of the hashed bundle"
    assert response.mimetype == "text/javascript"
    assert response.cache_control.immutable and response.cache_control.max_age == 365 * 24 * 3600
    gzipped = get(client, f"/static/{HASHED_JS}", "gzip")
    assert gzip.decompress(gzipped.data) == SCRIPT and gzipped.cache_control.immutable


@pytest.mark.parametrize("path", ["/static/dist/app.js", "/static/favicon.svg"])
def test_plain_names_are_revalidated_not_kept(app, client, built, path):
    (built.parent / "favicon.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
    response = get(client, path, "gzip, br")
    assert response.status_code == 200
    assert not response.cache_control.immutable
    assert not response.cache_control.max_age


# The real build, twice -------------------------------------------------------------------------


def node_build(tree, *scripts):
    for script in scripts:
        result = subprocess.run(  # noqa: S603 - a fixed argument list of our own, no shell
            [NODE, f"scripts/{script}"], cwd=tree, capture_output=True, text=True, timeout=120, check=False
        )
        assert result.returncode == 0, result.stderr + result.stdout
    dist = tree / "peerlearn" / "static" / "dist"
    return dist, json.loads((dist / "manifest.json").read_text())


@pytest.fixture
def source_tree(tmp_path):
    """A copy of the front end's sources and build scripts, built with the real node_modules."""
    if NODE is None or not (ROOT / "node_modules" / "esbuild").is_dir():
        pytest.skip("node and node_modules are needed for the build (make node_modules/.installed)")
    tree = tmp_path / "tree"
    shutil.copytree(ROOT / "scripts", tree / "scripts", ignore=shutil.ignore_patterns("*.py"))
    shutil.copytree(ROOT / "peerlearn" / "static" / "src", tree / "peerlearn" / "static" / "src")
    (tree / "node_modules").symlink_to(ROOT / "node_modules")
    (tree / "package.json").symlink_to(ROOT / "package.json")
    dist = tree / "peerlearn" / "static" / "dist"
    dist.mkdir()
    # The Tailwind CLI's output, which the build names by its content.
    (dist / "app.css").write_text("body{margin:0}" + " " * 400)
    return tree


def change_countdown(tree, mark):
    countdown = tree / "peerlearn" / "static" / "src" / "js" / "components" / "countdown.js"
    countdown.write_text(countdown.read_text() + f"\nglobalThis.peerlearnBuildMark = {mark};\n")


def chunk_named(dist, prefix):
    """The script of the chunk ``prefix`` (not its .br or .gz copy, which the folder also holds)."""
    return next((dist / "chunks").glob(f"{prefix}-*.js"))


def test_a_page_from_before_a_rebuild_still_gets_its_chunks(app, client, source_tree):
    dist, first = node_build(source_tree, "build_js.mjs", "compress_assets.mjs")
    old_chunk = chunk_named(dist, "countdown")
    old_entry = first["app.js"]
    assert old_entry.startswith("dist/app-") and old_entry.endswith(".js")
    assert first["app.css"].startswith("dist/app-")

    change_countdown(source_tree, 1)
    dist, second = node_build(source_tree, "build_js.mjs", "compress_assets.mjs")
    assert second["app.js"] != old_entry  # the entry names the changed chunk, so its hash moved
    new_chunk = next(p for p in (dist / "chunks").glob("countdown-*.js") if p != old_chunk)
    assert old_chunk.is_file() and new_chunk.is_file()

    app.static_folder = str(dist.parent)
    static_files.load_manifest(app)
    assert f'src="/static/{second["app.js"]}"' in client.get("/").get_data(as_text=True)
    # The page rendered before the deploy asks for the old entry and its old chunk.
    for path in (old_entry, f"dist/chunks/{old_chunk.name}"):
        response = get(client, f"/static/{path}", "gzip, br")
        assert response.status_code == 200, path
        assert response.cache_control.immutable
    # The entry is large enough to have a brotli copy, and it is what the old page gets.
    response = get(client, f"/static/{old_entry}", "br")
    assert response.headers["Content-Encoding"] == "br"
    assert response.data == (dist.parent / (old_entry + ".br")).read_bytes()


def test_the_build_keeps_the_last_three_builds_only(source_tree):
    dist, first = node_build(source_tree, "build_js.mjs", "compress_assets.mjs")
    first_chunk = chunk_named(dist, "countdown")
    for mark in (1, 2):
        change_countdown(source_tree, mark)
        dist, _ = node_build(source_tree, "build_js.mjs", "compress_assets.mjs")
    assert first_chunk.is_file() and (dist.parent / first["app.js"]).is_file()
    # Building the same sources again is not a new build: nothing more goes.
    dist, _ = node_build(source_tree, "build_js.mjs")
    assert first_chunk.is_file()

    change_countdown(source_tree, 3)
    dist, fourth = node_build(source_tree, "build_js.mjs", "compress_assets.mjs")
    assert not first_chunk.exists()
    assert not (dist.parent / first["app.js"]).exists()
    assert not (dist.parent / (first["app.js"] + ".br")).exists()
    assert (dist.parent / fourth["app.js"]).is_file()
    # The plain names stay, as copies of the latest build.
    assert (dist / "app.js").read_bytes() == (dist.parent / fourth["app.js"]).read_bytes()
    assert (dist / "app.css").is_file()
    builds = json.loads((dist / ".builds.json").read_text())
    assert len(builds) == 3
