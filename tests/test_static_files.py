"""The static route hands a browser the build's brotli or gzip copy of an asset when it accepts
that encoding, and the plain file otherwise."""

import gzip
import os

import pytest

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
