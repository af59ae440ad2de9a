"""The `clipbot` command line: database, roster import, matching, coach groups, chat and demo."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import select
import shlex
import sys
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from clipbot.clock import FixedClock, SystemClock
from clipbot.config import ConfigError, Settings
from clipbot.domain.people import FieldOfPractice
from clipbot.domain.roster import Roster
from clipbot.domain.shifts import DEFAULT_SHIFT_TYPES
from clipbot.domain.ward import LearningEnvironment
from clipbot.rosters import RosterError, parse_shift_times, read_csv_roster, read_inrc2_roster
from clipbot.service import UserError, WardService
from clipbot.storage.database import (
    Database,
    DatabaseConnectionError,
    normalise_database_url,
)

logger = logging.getLogger(__name__)

EXIT_BAD_INPUT = 2
# 128 + 13 (SIGPIPE): what a shell reports for a program that SIGPIPE ended, as when `| head` stops reading.
EXIT_BROKEN_PIPE = 141

# `clipbot serve` logs its start, stop and each job's summary at INFO. The other commands print
# their results, so they log only warnings and errors unless CLIPBOT_LOG_LEVEL sets a lower level.
SERVER_LOG_LEVEL = "INFO"
COMMAND_LOG_LEVEL = "WARNING"
MAX_PORT = 65535

# The lowest level at which each library logs, whatever CLIPBOT_LOG_LEVEL sets, so that
# CLIPBOT_LOG_LEVEL=DEBUG adds clipbot's own detail only. Below these levels the libraries write
# SQL parameters, request and response bodies or OAuth tokens: names, e-mail addresses and message text.
LIBRARY_LOG_LEVELS = {
    # Every call to SQLite or PostgreSQL with its SQL and parameters (DEBUG).
    "aiosqlite": logging.WARNING,
    "asyncpg": logging.WARNING,
    # Every SQL statement with its parameters (INFO) and the rows returned (DEBUG).
    "sqlalchemy": logging.WARNING,
    # Slack request and response bodies (DEBUG). At INFO they log retries and start-up only.
    "slack_sdk": logging.INFO,
    "slack_bolt": logging.INFO,
    # Teams: Bot Framework request bodies and headers, and OAuth token requests (DEBUG).
    "botbuilder": logging.WARNING,
    "botframework": logging.WARNING,
    "msrest": logging.WARNING,
    "msal": logging.WARNING,
    "oauthlib": logging.WARNING,
    "requests_oauthlib": logging.WARNING,
    # URLs with their query strings (DEBUG, and urllib3's redirects and aiohttp's access log at INFO).
    "urllib3": logging.WARNING,
    "aiohttp": logging.WARNING,
}


def _date(text: str) -> date:
    for pattern in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    raise argparse.ArgumentTypeError(f"'{text}' is not a date; use YYYY-MM-DD or DD/MM/YYYY")


def _moment(text: str) -> datetime:
    for pattern in ("%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%d/%m/%Y %H:%M", "%Y-%m-%d", "%d/%m/%Y"):
        try:
            return datetime.strptime(text, pattern).replace(tzinfo=ZoneInfo("Europe/London"))
        except ValueError:
            continue
    raise argparse.ArgumentTypeError(
        f"'{text}' is not a date and time; use 'YYYY-MM-DD HH:MM' or 'DD/MM/YYYY HH:MM' (UK local time)"
    )


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        port = 0
    if not 1 <= port <= MAX_PORT:
        raise argparse.ArgumentTypeError(f"'{text}' is not a TCP port; use a whole number from 1 to {MAX_PORT}")
    return port


def _field(text: str) -> FieldOfPractice:
    try:
        return FieldOfPractice(text.strip().casefold())
    except ValueError:
        choices = ", ".join(field.value for field in FieldOfPractice)
        raise argparse.ArgumentTypeError(f"'{text}' is not a field of practice; use one of: {choices}") from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="clipbot", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    db = commands.add_parser("db", help="manage the database")
    db.add_subparsers(dest="db_command", required=True).add_parser("upgrade", help="apply database migrations")

    roster = commands.add_parser("roster", help="import a ward roster")
    importers = roster.add_subparsers(dest="roster_command", required=True).add_parser(
        "import", help="validate a roster and write it in one transaction"
    ).add_subparsers(dest="format", required=True, metavar="FORMAT")
    csv_import = importers.add_parser("csv", help="people and shifts CSV files (see the README for the columns)")
    csv_import.add_argument("people", type=Path, help="people CSV file")
    csv_import.add_argument("shifts", type=Path, help="shifts CSV file")
    inrc2 = importers.add_parser("inrc2", help="an INRC-II scenario and one solution folder")
    inrc2.add_argument("scenario", type=Path, help="scenario file, Sc-<name>.txt")
    inrc2.add_argument("solution", type=Path, help="solution folder with one Sol-*.txt file per week")
    inrc2.add_argument("--start", type=_date, required=True, help="the Monday on which week 0 starts")
    inrc2.add_argument("--student-field", type=_field, default=FieldOfPractice.ADULT,
                       help="field of practice of the trainees (default: adult)")
    inrc2.add_argument("--nurse-field", type=_field, default=FieldOfPractice.ADULT,
                       help="field of practice of the registered nurses (default: adult)")
    for importer in (csv_import, inrc2):
        importer.add_argument("--ward", required=True, help="ward key, for example 6-west")
        importer.add_argument("--ward-name", help="ward name shown to people (default: the key)")
        importer.add_argument("--shift-times", default="",
                              help="clock times per shift type, for example 'Early=07:00-15:00,Night=21:00-07:30'")
        importer.add_argument("--dry-run", action="store_true", help="check and report, write nothing")

    educator = commands.add_parser("educator", help="make a registered nurse a ward's clinical educator")
    educator.add_argument("person", help="roster id of the educator")
    educator.add_argument("ward", help="ward key")
    educator.add_argument("--name", help="create the person with this name if they are not on the roster")
    educator.add_argument("--email", help="e-mail address of their Slack or Teams account, by which the bot "
                                           "recognises them (sets or replaces the stored address)")
    educator.add_argument("--ward-name", help="name of the ward, when this creates it (default: the key)")

    match = commands.add_parser("match", help="propose practice assessors and named practice supervisors")
    match.add_argument("ward", help="ward key or name")
    match.add_argument("--again", action="store_true", help="propose afresh instead of keeping confirmed pairs")
    match.add_argument("--confirm", action="store_true", help="confirm the proposals straight away")

    coaches = commands.add_parser("coaches", help="show the coach groups for each shift on a day")
    coaches.add_argument("ward", help="ward key or name")
    coaches.add_argument("day", nargs="?", type=_date, help="the day (default: today)")

    chat = commands.add_parser("chat", help="talk to the bot in this terminal as a roster person")
    chat.add_argument("--as", dest="person", required=True, help="roster id of the person you are")
    chat.add_argument("--at", type=_moment, help="pretend it is this UK local time, 'YYYY-MM-DD HH:MM'")

    demo = commands.add_parser("demo", help="replay a four-week placement on a real published roster")
    demo.add_argument("--verbose", action="store_true", help="show every message in full")
    demo.add_argument("--scenario", type=Path, help="INRC-II scenario file (default: the bundled n021w4)")
    demo.add_argument("--solution", type=Path, help="INRC-II solution folder for --scenario")
    demo.add_argument("--people", type=Path, help="people CSV file, to replay a CSV roster instead")
    demo.add_argument("--shifts", type=Path, help="shifts CSV file for --people")
    demo.add_argument("--start", type=_date, help="Monday of week 0 (default: 19 Oct 2026, across the clock change)")
    demo.add_argument("--database", help="database URL to use instead of a fresh temporary SQLite file")

    package = commands.add_parser(
        "teams-package", help="build the Teams app package (zip) to upload to Teams",
        description="Build the Teams app package (a zip) to upload to Teams. The bot's app id comes from "
                    "MicrosoftAppId, the Microsoft App ID of your Azure Bot resource; no other Teams setting "
                    "is needed.",
    )
    package.add_argument("out", help="the zip file to write, for example clipbot-teams.zip; given a folder, "
                                     "clipbot-teams.zip is written inside it")
    package.add_argument("--website-url", required=True, help="https address of your clipbot service")
    package.add_argument("--privacy-url", help="https address of your privacy notice (default: the website)")
    package.add_argument("--terms-url", help="https address of your terms of use (default: the website)")
    package.add_argument("--developer-name", default="clipbot", help="the organisation shown as the developer")

    serve = commands.add_parser("serve", help="run the web server for Slack and Teams, with a health check at /healthz")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    serve.add_argument("--port", type=_port, default=3000, help="TCP port to listen on, 1 to 65535 (default: 3000)")
    serve.add_argument("--socket-mode", action="store_true",
                       help="also connect to Slack over Socket Mode, using SLACK_APP_TOKEN, instead of "
                            "waiting for Slack to reach a public URL")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one clipbot command and return its exit status."""
    try:
        status = _main(argv)
        # Write buffered output now, so that a closed pipe fails here rather than at interpreter exit.
        sys.stdout.flush()
    except BrokenPipeError:
        if not _stdout_closed():
            raise
        # Stop quietly, as other command-line tools do when the program reading their output exits.
        # Standard output now goes to /dev/null, so Python's final flush at exit cannot fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    return status


def _main(argv: Sequence[str] | None) -> int:
    arguments = build_parser().parse_args(argv)
    try:
        settings = Settings.from_environment()
    except ConfigError as error:
        print(f"clipbot: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    configure_logging(log_level(arguments.command, settings))

    if arguments.command == "demo":
        return _demo(arguments)
    if arguments.command == "serve":
        return _serve(arguments, settings)
    if arguments.command == "teams-package":
        return _teams_package(arguments)
    try:
        return asyncio.run(_run(arguments, settings))
    except (UserError, RosterError) as error:
        print(str(error), file=sys.stderr)
        return EXIT_BAD_INPUT
    except DatabaseConnectionError as error:
        print(f"clipbot: {_database_error_message(error)}", file=sys.stderr)
        return EXIT_BAD_INPUT


def log_level(command: str, settings: Settings) -> str:
    """Return CLIPBOT_LOG_LEVEL, or the default of `command` when it is unset."""
    return settings.log_level or (SERVER_LOG_LEVEL if command == "serve" else COMMAND_LOG_LEVEL)


def configure_logging(level: str) -> None:
    """Log clipbot's lines to standard error from `level` up, and other libraries' from INFO or above.

    Each library in LIBRARY_LOG_LEVELS logs from its level there or from `level`, whichever is
    higher. APScheduler's INFO lines appear only when `level` is DEBUG.
    """
    # NOTSET would mean "inherit from the root logger", so it counts as DEBUG here.
    threshold = max(logging.getLevelName(level), logging.DEBUG)
    root_level = max(threshold, logging.INFO)
    # The root logger stays at INFO or above even for DEBUG, because slack_bolt (1.30) gives each
    # logger it creates the root logger's level, and libraries missing from LIBRARY_LOG_LEVELS
    # inherit it. The handler has no level, so clipbot's DEBUG lines still reach it.
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger().setLevel(root_level)
    logging.getLogger("clipbot").setLevel(threshold if threshold < root_level else logging.NOTSET)
    for name, floor in LIBRARY_LOG_LEVELS.items():
        logging.getLogger(name).setLevel(max(threshold, floor))
    # APScheduler logs two INFO lines for every job run ("Running job", "executed successfully"),
    # which is eight a minute for the outbox job alone.
    scheduler_level = logging.INFO if threshold == logging.DEBUG else max(logging.WARNING, threshold)
    logging.getLogger("apscheduler").setLevel(scheduler_level)


def _stdout_closed() -> bool:
    """Return True when nothing reads standard output any more, for example after `| head` has exited."""
    if not hasattr(select, "poll"):
        return True
    try:
        poller = select.poll()
        poller.register(sys.stdout.fileno(), select.POLLOUT)
        # A timeout of 0 returns at once. The write end of a pipe whose reader has gone reports POLLERR.
        events = poller.poll(0)
    except (OSError, ValueError):
        return False
    return any(event & (select.POLLERR | select.POLLHUP) for _, event in events)


def _database_error_message(error: DatabaseConnectionError) -> str:
    if os.environ.get("DATABASE_URL", "").strip():
        return error.describe("DATABASE_URL")
    return (
        f"{error.describe('DATABASE_URL is not set, so the database URL')} To use another place, set "
        f"CLIPBOT_DATA_DIR to a folder clipbot may write to, or set DATABASE_URL."
    )


async def _run(arguments: argparse.Namespace, settings: Settings) -> int:
    # A roster is read and checked before the database is opened, so a bad file touches nothing.
    roster = read_roster_files(arguments) if arguments.command == "roster" else None
    database = Database(settings.database_url)
    try:
        await database.upgrade()
        if arguments.command == "db":
            print("The database is up to date.")
            return 0
        clock = FixedClock(arguments.at) if getattr(arguments, "at", None) else SystemClock()
        service = WardService(database, clock, settings.organisation, planner_settings=settings.planner)
        if roster is not None:
            return await _import_roster(arguments, roster, service)
        handler = {
            "educator": _add_educator,
            "match": _match,
            "coaches": _coaches,
            "chat": _chat,
        }[arguments.command]
        return await handler(arguments, service)
    finally:
        await database.dispose()


def _demo(arguments: argparse.Namespace) -> int:
    from clipbot.demo import run_demo

    if arguments.database:
        try:
            normalise_database_url(arguments.database, name="--database")
        except ValueError as error:
            print(f"clipbot: {error}", file=sys.stderr)
            return EXIT_BAD_INPUT
    try:
        return asyncio.run(run_demo(arguments))
    except DatabaseConnectionError as error:
        print(f"clipbot: {error.describe('--database')}", file=sys.stderr)
        return EXIT_BAD_INPUT


def _teams_package(arguments: argparse.Namespace) -> int:
    from clipbot.bot.adapters.teams.package import build_package
    from clipbot.bot.adapters.teams.settings import app_id_from_environment

    # The package contains the app id and nothing secret, so MicrosoftAppPassword and the tenant id are not read.
    try:
        path = build_package(
            arguments.out, app_id_from_environment(), website_url=arguments.website_url,
            privacy_url=arguments.privacy_url, terms_url=arguments.terms_url, developer_name=arguments.developer_name,
        )
    except (ConfigError, ValueError) as error:
        print(f"clipbot: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except OSError as error:
        if isinstance(error, FileExistsError):
            problem = f"{error.filename} is a file, not a folder"
        else:
            problem = f"{error.filename}: {error.strerror}" if error.filename else str(error)
        print(
            f"clipbot: The Teams app package could not be written to {arguments.out} ({problem}). "
            f"Give a file or folder path where you may write.",
            file=sys.stderr,
        )
        return EXIT_BAD_INPUT
    print(f"Wrote the Teams app package to {path}. Upload it in Teams under Apps > Manage your apps.")
    return 0


def _serve(arguments: argparse.Namespace, settings: Settings) -> int:
    from clipbot.server import serve

    try:
        asyncio.run(serve(settings, host=arguments.host, port=arguments.port, socket_mode=arguments.socket_mode))
    except ConfigError as error:
        print(f"clipbot: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except DatabaseConnectionError as error:
        print(f"clipbot: {_database_error_message(error)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    return 0


def read_roster_files(arguments: argparse.Namespace) -> Roster:
    """Read the roster named on the command line; raises RosterError listing every problem."""
    ward = LearningEnvironment(arguments.ward, arguments.ward_name or arguments.ward)
    shift_types = parse_shift_times(arguments.shift_times) if arguments.shift_times else DEFAULT_SHIFT_TYPES
    if arguments.format == "csv":
        return read_csv_roster(arguments.people, arguments.shifts, ward=ward, shift_types=shift_types)
    return read_inrc2_roster(
        arguments.scenario, arguments.solution, week0=arguments.start, ward=ward, shift_types=shift_types,
        student_field=arguments.student_field, nurse_field=arguments.nurse_field,
    )


async def _import_roster(arguments: argparse.Namespace, roster: Roster, service: WardService) -> int:
    report = await service.import_roster(roster, dry_run=arguments.dry_run, rename=arguments.ward_name is not None)
    verb = "Checked (dry run, nothing written)" if arguments.dry_run else "Imported"
    print(f"{verb} ward {roster.ward.key}:")
    for kind, counts in report.items():
        print(f"  {kind:<12} {counts}")
    return 0


async def _add_educator(arguments: argparse.Namespace, service: WardService) -> int:
    await service.add_educator(
        arguments.person, arguments.ward, name=arguments.name, email=arguments.email, ward_name=arguments.ward_name
    )
    print(f"{arguments.person} is now the clinical educator for {arguments.ward}.")
    person = await service.find_person(arguments.person)
    if person is not None and person.email:
        print(f"The bot recognises their Slack or Teams account by its e-mail address, {person.email}.")
    else:
        print(
            f"No e-mail address is stored for {arguments.person}, so the bot cannot recognise their Slack or "
            f"Teams account. Run this command again with --email and the address of that account."
        )
    return 0


async def _match(arguments: argparse.Namespace, service: WardService) -> int:
    from clipbot.bot.adapters.console import render_reply
    from clipbot.bot.handlers.educator import describe_matches, pairing_messages

    outcome = await service.propose_matches(arguments.ward, rematch=arguments.again)
    print(render_reply(describe_matches(outcome, with_buttons=False)))
    if arguments.confirm and outcome.result.pairs:
        ward, confirmed = await service.confirm_matches(arguments.ward)
        # The command line reaches nobody in chat, so it shows the messages for the educator to pass on.
        print(f"\nConfirmed {len(confirmed)} pairs for {ward.name}. The messages for each student and mentor:")
        for person, note in pairing_messages(ward, confirmed, outcome.people):
            print(f"\n(for {render_reply_name(outcome.people, person)})\n{render_reply(note)}")
    elif outcome.result.pairs:
        print(f"To confirm these pairs, run: clipbot match {shlex.quote(arguments.ward)} --confirm")
    return 0


def render_reply_name(people: dict, key: str) -> str:
    person = people.get(key)
    return f"{person.name} ({key})" if person and person.name != key else key


async def _coaches(arguments: argparse.Namespace, service: WardService) -> int:
    from clipbot.bot.adapters.console import render_reply
    from clipbot.bot.handlers.educator import coach_post

    coach_day = await service.coach_plans(arguments.ward, arguments.day)
    if not coach_day.plans:
        print(f"No students are on shift on {coach_day.ward.name} on {coach_day.day:%A %-d %B %Y}.")
    for plan in coach_day.plans:
        print(render_reply(coach_post(plan, coach_day.people)))
        print()
    return 0


async def _chat(arguments: argparse.Namespace, service: WardService) -> int:
    from clipbot.bot.adapters.console import ConsoleChat

    person = await service.find_person(arguments.person)
    if person is None:
        raise UserError(f"'{arguments.person}' is not on any roster. Use a person id from an imported roster.")
    chat = ConsoleChat(service, person.key, print)
    interactive = sys.stdin.isatty()
    if interactive:
        print(f"You are {person.name}. Type 'help' for what you can ask, or Ctrl-D to leave.")
    while True:
        if interactive:
            print("> ", end="", flush=True)
        line = await asyncio.to_thread(sys.stdin.readline)
        if not line:
            return 0
        if line.strip():
            await chat.send(line)
