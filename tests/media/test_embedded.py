"""The local Janus of the embedded mode: a loopback-only configuration, kept running."""

import os
import signal
import time

import requests

from peerlearn.media import tokens
from peerlearn.media.embedded import library_dir, render_config
from tests.conftest import start_janus


def test_the_configuration_listens_on_loopback_and_loads_only_the_videoroom(tmp_path, janus_binary):
    files = render_config(
        tmp_path,
        library_dir(),
        http_port=1001,
        admin_port=1002,
        ws_port=1003,
        token_secret="t" * 20,
        admin_secret="a" * 20,
        admin_key="k" * 20,
        ice_enforce_list="127.0.0.2",
    )
    core = files["janus.jcfg"]
    assert "token_auth = true" in core and f'token_auth_secret = "{"t" * 20}"' in core
    assert 'ice_enforce_list = "127.0.0.2"' in core and "ipv6 = false" in core
    disabled = core.split("plugins: {")[1].split("}")[0]
    assert "libjanus_videoroom.so" not in disabled and "libjanus_echotest.so" in disabled
    assert "libjanus_websockets.so" not in core.split("transports: {")[1].split("}")[0]
    for name in ("janus.transport.http.jcfg", "janus.transport.websockets.jcfg"):
        text = files[name]
        assert text.count('"127.0.0.1"') >= 1 and "0.0.0.0" not in text  # noqa: S104 - checked absent
    assert 'admin_ip = "127.0.0.1"' in files["janus.transport.http.jcfg"]
    assert f'admin_key = "{"k" * 20}"' in files["janus.plugin.videoroom.jcfg"]


def test_a_janus_that_dies_is_started_again_on_the_same_ports(tmp_path, janus_binary):
    local = start_janus(tmp_path / "janus")
    try:
        api = local.instance.api
        first = local.process.pid
        assert requests.get(f"{api}/info", timeout=2).json()["name"] == "Janus WebRTC Server"
        # Secrets stay with the install; the files Janus reads are not world-readable.
        assert (tmp_path / "janus" / "secrets.json").stat().st_mode & 0o077 == 0
        assert (tmp_path / "janus" / "janus.jcfg").stat().st_mode & 0o077 == 0

        os.kill(first, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if local.process.pid != first and local.process.poll() is None:
                try:
                    if requests.get(f"{api}/info", timeout=1).ok:
                        break
                except requests.RequestException:
                    pass
            time.sleep(0.1)
        else:
            raise AssertionError("Janus was not restarted")
        assert local.restarts == 1
        # Still the same install: its tokens work.
        core = tokens.core_token(local.secrets["token_secret"], time.time() + 60)
        reply = requests.post(
            api, json={"janus": "create", "transaction": "x", "token": core}, timeout=2
        ).json()
        assert reply["janus"] == "success"
    finally:
        local.stop()
    assert local.process.poll() is not None  # stopped for good


def test_serve_runs_a_local_janus_and_points_the_app_at_it(app, janus_binary):
    import click
    import pytest

    from peerlearn.cli import _start_media
    from peerlearn.services import media

    app.config.update(ROOM_MEDIA="auto", JANUS_INSTANCES=[])
    line = _start_media(app, install=False)
    local = app.extensions["peerlearn_local_janus"]
    try:
        assert line.startswith("Janus on this machine")
        assert app.config["JANUS_INSTANCES"][0]["api"] == local.instance.api
        assert media.configured_mode() == "janus"
        assert media.least_loaded().name == "local"
    finally:
        local.stop()

    # Opted out, or nothing installed: the browser mesh, and the banner says so.
    app.config.update(ROOM_MEDIA="mesh", JANUS_INSTANCES=[])
    assert _start_media(app, install=False).startswith(
        "browser to browser, up to 4 cameras (ROOM_MEDIA=mesh)"
    )
    app.config.update(ROOM_MEDIA="auto", JANUS_BINARY="/nonexistent/janus")
    assert "install the Debian package janus" in _start_media(app, install=False)
    app.config["ROOM_MEDIA"] = "janus"
    with pytest.raises(click.ClickException, match="not installed"):
        _start_media(app, install=False)


def test_janus_config_writes_a_configuration_for_this_install(app, runner, tmp_path, janus_binary):
    result = runner.invoke(args=["janus-config", "--out", str(tmp_path / "janus")])
    assert result.exit_code != 0 and "set JANUS_TOKEN_SECRET" in result.output
    app.config.update(JANUS_TOKEN_SECRET="t" * 32, JANUS_ADMIN_SECRET="a" * 32, JANUS_ADMIN_KEY="k" * 32)
    out = str(tmp_path / "janus")
    result = runner.invoke(args=["janus-config", "--out", out, "--public-ip", "203.0.113.7"])
    assert result.exit_code == 0, result.output
    core = (tmp_path / "janus" / "janus.jcfg").read_text()
    assert 'nat_1_1_mapping = "203.0.113.7"' in core and f'token_auth_secret = "{"t" * 32}"' in core
    assert "port = 8088" in (tmp_path / "janus" / "janus.transport.http.jcfg").read_text()
    assert (tmp_path / "janus" / "janus.jcfg").stat().st_mode & 0o007 == 0


def test_setup_installs_janus_where_it_may_and_says_so(tmp_path, monkeypatch):
    from peerlearn.media import embedded

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "calls"
    apt = bin_dir / "apt-get"
    apt.write_text(
        "#!/bin/sh\n"
        f'echo "$@" >> {calls}\n'
        'if [ "$1" = install ]; then\n'
        f'  if [ -n "$FAIL" ]; then echo "E: Unable to locate package janus" >&2; exit 100; fi\n'
        f'  printf "#!/bin/sh\\n" > {bin_dir}/janus; chmod +x {bin_dir}/janus\n'
        "fi\n"
    )
    apt.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    monkeypatch.setattr(embedded, "install_command", lambda: [])  # as root on Debian

    said = []
    monkeypatch.setenv("FAIL", "1")
    assert embedded.install(echo=said.append) is False
    assert said[-1] == "  Janus could not be installed: E: Unable to locate package janus"
    monkeypatch.delenv("FAIL")
    said.clear()
    assert embedded.install(echo=said.append) is True
    assert "apt-get install -y janus" in said[0] and "ROOM_MEDIA=mesh" in said[1]
    assert calls.read_text().splitlines()[-2:] == ["update -qq", "install -y -qq janus"]
    assert embedded.find_binary() == str(bin_dir / "janus")

    # Neither root nor passwordless sudo: nothing is attempted.
    monkeypatch.setattr(embedded, "install_command", lambda: None)
    assert embedded.install(echo=said.append) is False
