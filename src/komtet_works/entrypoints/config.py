"""The operator commands' settings: from a flag, the environment, a TOML file, or a default.

Each setting is taken from the first of these that gives it:

1. its flag (``--db``, ``--sites-root``, ...);
2. its environment variable, ``KOMTET_WORKS_`` and the setting's name in capitals
   (``KOMTET_WORKS_DB``, ``KOMTET_WORKS_SITES_ROOT``, ``KOMTET_WORKS_SMTP_HOST``, ...);
3. the configuration file, ``--config PATH`` or ``$KOMTET_WORKS_CONFIG`` (none is read
   without either), a TOML document such as::

       database = "works.sqlite"          # or a postgresql:// DSN

       [directories]
       sites_root = "/srv/sites"
       backup_root = "/var/backups/works"
       backup_key = "/etc/komtet-works/backup.key"
       mail_dir = "/var/spool/komtet-works"

       [smtp]
       host = "smtp.example.net"
       port = 587
       security = "starttls"              # starttls, ssl or none
       user = "works"                     # the password: $KOMTET_WORKS_SMTP_PASSWORD only

       [calendar]
       zone = "Europe/Moscow"
       office_hours = ["10:00", "19:00"]  # Monday to Friday

       [staff]
       capacity = 2                       # staff working the queue in parallel (default 1)

       [policy]
       spent_hours = "refund_unused"      # fixed_price (default), refund_unused or
                                          # supplementary_estimate (D-OVERRUN)

4. the default.

Relative paths in the file are relative to the current directory, as on the command line.
The SMTP password is never read from the file (a file is copied and shown more readily
than a process's environment): a ``password`` key there is refused.  So is any key the
file does not know, so that a misspelt setting cannot be silently ignored.
"""

from __future__ import annotations

import argparse
import os
import tomllib
from collections.abc import Callable, Mapping
from datetime import time
from pathlib import Path
from typing import Final

import attrs

from komtet_works.adapters.mail import MaildirNotifier, SmtpNotifier, SmtpSecurity
from komtet_works.adapters.russian_calendar import RussianBusinessCalendar
from komtet_works.domain.errors import InvalidInput
from komtet_works.domain.policy import Policy, SpentHours
from komtet_works.ports import BusinessCalendar, Clock, Notifier

#: The environment variable naming the configuration file.
CONFIG_VARIABLE: Final = "KOMTET_WORKS_CONFIG"
#: The environment variable holding the SMTP password (never the file).
PASSWORD_VARIABLE: Final = "KOMTET_WORKS_SMTP_PASSWORD"  # noqa: S105 - its name only
_PREFIX: Final = "KOMTET_WORKS_"


def _text(value: object, name: str) -> str:
    if not isinstance(value, str) or not value:
        raise InvalidInput(f"{name} must be a non-empty text, not {value!r}", field=name)
    return value


def _path(value: object, name: str) -> Path:
    return Path(_text(value, name))


def _port(value: object, name: str) -> int:
    try:
        port = int(value) if isinstance(value, int | str) and not isinstance(value, bool) else 0
    except ValueError:
        port = 0
    if not 0 < port < 2**16:
        raise InvalidInput(f"{name} must be a TCP port, 1 to 65535, not {value!r}", field=name)
    return port


def _security(value: object, name: str) -> SmtpSecurity:
    try:
        return SmtpSecurity(value)
    except ValueError:
        known = ", ".join(s.value for s in SmtpSecurity)
        raise InvalidInput(f"{name} must be one of {known}, not {value!r}", field=name) from None


def _office_hours(value: object, name: str) -> tuple[time, time]:
    """``["10:00", "19:00"]`` in the file, ``10:00-19:00`` in the environment."""
    parts: object = value.split("-") if isinstance(value, str) else value
    try:
        opens, closes = (time.fromisoformat(_text(part, name)) for part in _listed(parts))
    except ValueError:
        opens = closes = time(0)
    if not opens < closes:
        raise InvalidInput(
            f"{name} must be when the office opens and closes, such as "
            f'["10:00", "19:00"], not {value!r}',
            field=name,
        )
    return opens, closes


def _capacity(value: object, name: str) -> int:
    """A whole number of staff, at least 1 (D-CAPACITY); ``2`` in the environment too."""
    from komtet_works.domain.scheduling import staff_capacity  # noqa: PLC0415 - CLI startup

    try:
        return staff_capacity(int(value) if isinstance(value, str) else value)
    except ValueError:  # InvalidInput is one
        raise InvalidInput(
            f"{name} must be a whole number of staff, at least 1, not {value!r}", field=name
        ) from None


def _spent_hours(value: object, name: str) -> SpentHours:
    """What the hours spent do to money (D-OVERRUN), by the option's name."""
    try:
        return SpentHours(value)
    except ValueError:
        known = ", ".join(option.value for option in SpentHours)
        raise InvalidInput(f"{name} must be one of {known}, not {value!r}", field=name) from None


def _listed(value: object) -> list[object]:
    return list(value) if isinstance(value, list) else [value]


@attrs.frozen
class Setting:
    """One setting: its name (the option's dest), where it is in the file, its default."""

    name: str
    table: str | None
    key: str
    convert: Callable[[object, str], object]
    default: object = None

    @property
    def variable(self) -> str:
        return _PREFIX + self.name.upper()

    @property
    def where(self) -> str:
        return self.key if self.table is None else f"{self.table}.{self.key}"


SETTINGS: Final = (
    Setting("db", None, "database", _text, "komtet-works.sqlite"),
    Setting("sites_root", "directories", "sites_root", _path, Path("sites")),
    Setting("backup_root", "directories", "backup_root", _path, Path("backups")),
    Setting("backup_key", "directories", "backup_key", _path, Path("backup.key")),
    Setting("mail_dir", "directories", "mail_dir", _path, Path("outbox-mail")),
    Setting("smtp_host", "smtp", "host", _text),
    Setting("smtp_port", "smtp", "port", _port, 587),
    Setting("smtp_security", "smtp", "security", _security, SmtpSecurity.STARTTLS),
    Setting("smtp_user", "smtp", "user", _text),
    Setting("calendar_zone", "calendar", "zone", _text, Policy().provider_timezone),
    Setting("office_hours", "calendar", "office_hours", _office_hours, (time(10), time(19))),
    Setting("staff_capacity", "staff", "capacity", _capacity, 1),
    Setting("spent_hours", "policy", "spent_hours", _spent_hours, SpentHours.FIXED_PRICE),
)


def read_file(path: Path) -> dict[str, object]:
    """The settings a configuration file gives, by setting name; `InvalidInput` if the file
    cannot be read, is not TOML, holds a key no setting has, or holds a password."""
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise InvalidInput(
            f"cannot read the configuration file {path}: {error.strerror or error}",
            field="config",
        ) from None
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise InvalidInput(f"{path} is not a TOML file: {error}", field="config") from None
    if isinstance(document.get("smtp"), dict) and "password" in document["smtp"]:
        raise InvalidInput(
            f"{path}: the SMTP password is read only from ${PASSWORD_VARIABLE}, never a file",
            field="config",
        )
    known = {setting.where: setting for setting in SETTINGS}
    given: dict[str, object] = {}
    for key, value in document.items():
        entries = value.items() if isinstance(value, dict) else [(None, value)]
        for inner, entry in entries:
            where = key if inner is None else f"{key}.{inner}"
            if where not in known:
                raise InvalidInput(f"{path}: no setting is called {where!r}", field="config")
            given[known[where].name] = known[where].convert(entry, where)
    return given


def resolve(arguments: argparse.Namespace, environ: Mapping[str, str] = os.environ) -> None:
    """Fill each setting the flags left unset (None) from the environment, the
    configuration file, or the default; and the SMTP password from the environment."""
    config = arguments.config or environ.get(CONFIG_VARIABLE)
    from_file = read_file(Path(config)) if config else {}
    for setting in SETTINGS:
        if getattr(arguments, setting.name, None) is not None:
            continue
        if environ.get(setting.variable):
            value = setting.convert(environ[setting.variable], setting.variable)
        else:
            value = from_file.get(setting.name, setting.default)
        setattr(arguments, setting.name, value)
    arguments.smtp_password = environ.get(PASSWORD_VARIABLE)


def policy(arguments: argparse.Namespace) -> Policy:
    """The seed's policy, with the answers the host configured."""
    return Policy(spent_hours=arguments.spent_hours)


def calendar(arguments: argparse.Namespace) -> BusinessCalendar:
    """The Russian production calendar, in the configured office hours and zone."""
    hours: tuple[time, time] = arguments.office_hours
    return RussianBusinessCalendar(timezone=arguments.calendar_zone, office_hours=hours)


def notifier(arguments: argparse.Namespace, clock: Clock) -> Notifier:
    """Mail by SMTP when an SMTP host is configured, else as files in the mail directory."""
    if arguments.smtp_host is None:
        return MaildirNotifier(arguments.mail_dir, clock)
    return SmtpNotifier(
        arguments.smtp_host,
        arguments.smtp_port,
        clock,
        security=arguments.smtp_security,
        username=arguments.smtp_user,
        password=arguments.smtp_password,
    )
