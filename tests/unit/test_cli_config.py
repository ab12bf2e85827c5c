"""The operator commands' settings: a flag beats its variable, which beats the file."""

from __future__ import annotations

import argparse
import json
from datetime import time
from pathlib import Path

import pytest

from komtet_works.adapters.clock import SystemClock
from komtet_works.adapters.mail import SmtpNotifier, SmtpSecurity
from komtet_works.domain.errors import InvalidInput
from komtet_works.domain.policy import SpentHours
from komtet_works.entrypoints import config
from komtet_works.entrypoints.cli import main

FILE = """\
database = "from-file.sqlite"

[directories]
sites_root = "file-sites"
backup_root = "file-backups"
backup_key = "file.key"
mail_dir = "file-mail"

[smtp]
host = "smtp.example.net"
port = 465
security = "ssl"
user = "works"

[calendar]
zone = "Asia/Yekaterinburg"
office_hours = ["09:00", "18:00"]
"""


def resolved(tmp_path: Path, environ: dict[str, str], **flags: object) -> argparse.Namespace:
    """The settings `config.resolve` gives for `flags`, `environ` and the file FILE."""
    (tmp_path / "works.toml").write_text(FILE, encoding="utf-8")
    arguments = argparse.Namespace(
        config=str(tmp_path / "works.toml"),
        **{setting.name: None for setting in config.SETTINGS if setting.name != "smtp_host"},
    )
    vars(arguments).update(flags)
    config.resolve(arguments, environ)
    return arguments


def test_without_flags_or_variables_the_file_gives_every_setting(tmp_path: Path) -> None:
    """Each setting of the file reaches the namespace, converted."""
    arguments = resolved(tmp_path, {})
    assert (
        "from-file.sqlite", Path("file-sites"), Path("file-backups"), Path("file.key"),
        Path("file-mail"), "smtp.example.net", 465, SmtpSecurity.SSL, "works",
        "Asia/Yekaterinburg", (time(9), time(18)), None,
    ) == (
        arguments.db, arguments.sites_root, arguments.backup_root, arguments.backup_key,
        arguments.mail_dir, arguments.smtp_host, arguments.smtp_port, arguments.smtp_security,
        arguments.smtp_user, arguments.calendar_zone, arguments.office_hours,
        arguments.smtp_password,
    )  # fmt: skip


def test_a_variable_beats_the_file_and_a_flag_beats_both(tmp_path: Path) -> None:
    """--db wins over $KOMTET_WORKS_DB; $KOMTET_WORKS_MAIL_DIR wins over the file."""
    environ = {
        "KOMTET_WORKS_DB": "from-env.sqlite",
        "KOMTET_WORKS_MAIL_DIR": "env-mail",
        "KOMTET_WORKS_OFFICE_HOURS": "08:30-17:30",
        "KOMTET_WORKS_SMTP_PASSWORD": "s3cret",
    }
    arguments = resolved(tmp_path, environ, db="from-flag.sqlite")
    assert ("from-flag.sqlite", Path("env-mail"), (time(8, 30), time(17, 30)), "s3cret") == (
        arguments.db,
        arguments.mail_dir,
        arguments.office_hours,
        arguments.smtp_password,
    )


def test_without_a_file_the_defaults_apply() -> None:
    """No --config, no $KOMTET_WORKS_CONFIG: the documented defaults, mail as files."""
    arguments = argparse.Namespace(config=None)
    config.resolve(arguments, {})
    assert ("komtet-works.sqlite", Path("outbox-mail"), None, "Europe/Moscow") == (
        arguments.db,
        arguments.mail_dir,
        arguments.smtp_host,
        arguments.calendar_zone,
    )


def test_an_smtp_host_makes_the_notifier_smtp(tmp_path: Path) -> None:
    """With smtp.host set, messages go by SMTP to that host and port."""
    notifier = config.notifier(resolved(tmp_path, {}), SystemClock())
    assert isinstance(notifier, SmtpNotifier)
    assert ("smtp.example.net", 465, SmtpSecurity.SSL) == (
        notifier.host,
        notifier.port,
        notifier.security,
    )


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("[smtp]\npassword = 'x'\n", "read only from $KOMTET_WORKS_SMTP_PASSWORD"),
        ("[directories]\nsite_root = 'x'\n", "no setting is called 'directories.site_root'"),
        ("database = \n", "is not a TOML file"),
        ("[smtp]\nport = 70000\n", "smtp.port must be a TCP port"),
        ("[smtp]\nsecurity = 'tls'\n", "smtp.security must be one of"),
        ("[calendar]\noffice_hours = ['19:00', '10:00']\n", "calendar.office_hours must be"),
        ("[calendar]\noffice_hours = 9\n", "calendar.office_hours must be"),
        ("database = 5\n", "database must be a non-empty text"),
    ],
    ids=["password", "misspelt", "not-toml", "port", "security", "hours-backwards", "hours-int",
         "database-int"],
)  # fmt: skip
def test_a_bad_file_is_refused_naming_what_is_wrong(tmp_path: Path, text: str, says: str) -> None:
    """A password, an unknown key, bad TOML or a bad value: InvalidInput saying which."""
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InvalidInput) as refused:
        config.read_file(path)
    assert says in refused.value.message


def test_the_file_from_the_environment_drives_a_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """$KOMTET_WORKS_CONFIG names the file; the database it names is the one used."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("KOMTET_WORKS_DB", raising=False)
    (tmp_path / "works.toml").write_text('database = "configured.sqlite"\n', encoding="utf-8")
    monkeypatch.setenv("KOMTET_WORKS_CONFIG", str(tmp_path / "works.toml"))
    assert 0 == main(["customer-add", "c-1", "--site", "a.example", "--json"])
    assert "c-1" == json.loads(capsys.readouterr().out)["id"]
    assert [Path("configured.sqlite")] == [
        p.relative_to(tmp_path) for p in tmp_path.glob("*.sqlite")
    ]


def test_a_missing_configuration_file_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--config naming no file: exit 2, one line naming the file."""
    missing = tmp_path / "absent.toml"
    assert 2 == main(["--config", str(missing), "list"])
    err = capsys.readouterr().err
    assert 1 == len(err.splitlines())
    assert f"cannot read the configuration file {missing}" in err


@pytest.mark.rule("D-CAPACITY")
def test_the_staff_capacity_comes_from_the_file_or_the_environment(tmp_path: Path) -> None:
    """``[staff] capacity`` in the file, $KOMTET_WORKS_STAFF_CAPACITY over it; 1 by default."""
    path = tmp_path / "works.toml"
    path.write_text("[staff]\ncapacity = 3\n", encoding="utf-8")
    from_file = argparse.Namespace(config=str(path))
    config.resolve(from_file, {})
    from_env = argparse.Namespace(config=str(path))
    config.resolve(from_env, {"KOMTET_WORKS_STAFF_CAPACITY": "5"})
    default = argparse.Namespace(config=None)
    config.resolve(default, {})
    assert (3, 5, 1) == (from_file.staff_capacity, from_env.staff_capacity, default.staff_capacity)


@pytest.mark.rule("D-CAPACITY")
@pytest.mark.parametrize("value", ["0", "two", "1.5", "-2"])
def test_a_staff_capacity_that_is_no_number_of_staff_is_refused(value: str) -> None:
    """A capacity below 1 or not whole is `invalid_input`, naming the variable."""
    with pytest.raises(InvalidInput, match="KOMTET_WORKS_STAFF_CAPACITY must be a whole number"):
        config.resolve(argparse.Namespace(config=None), {"KOMTET_WORKS_STAFF_CAPACITY": value})


@pytest.mark.rule("D-OVERRUN")
def test_the_spent_hours_option_comes_from_the_file_or_the_environment(tmp_path: Path) -> None:
    """``[policy] spent_hours`` in the file, $KOMTET_WORKS_SPENT_HOURS over it; the operator's
    service runs under it.  Fixed price by default."""
    path = tmp_path / "works.toml"
    path.write_text('[policy]\nspent_hours = "refund_unused"\n', encoding="utf-8")
    from_file = argparse.Namespace(config=str(path))
    config.resolve(from_file, {})
    from_env = argparse.Namespace(config=str(path))
    config.resolve(from_env, {"KOMTET_WORKS_SPENT_HOURS": "supplementary_estimate"})
    default = argparse.Namespace(config=None)
    config.resolve(default, {})
    assert (
        SpentHours.REFUND_UNUSED,
        SpentHours.SUPPLEMENTARY_ESTIMATE,
        SpentHours.FIXED_PRICE,
    ) == tuple(config.policy(a).spent_hours for a in (from_file, from_env, default))
    with pytest.raises(InvalidInput, match="KOMTET_WORKS_SPENT_HOURS must be one of fixed_price"):
        config.resolve(argparse.Namespace(config=None), {"KOMTET_WORKS_SPENT_HOURS": "free"})
