from tests.conftest import run_cli


def test_version_and_help():
    r = run_cli("--version")
    assert r.returncode == 0 and "ceremony" in r.stdout
    r = run_cli("--help")
    assert r.returncode == 0 and "Notary" in r.stdout


def test_unknown_command_is_one_line_error():
    r = run_cli("no-such-command")
    assert r.returncode != 0
    assert "Traceback" not in r.output
