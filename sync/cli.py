"""The ``casewarden`` command line: a thin layer over the library.

Every domain error is caught here and turned into one message that says what to do next (a JSON line
with ``--log-format json``); exit codes are stable so cron jobs and CI can act on them (the table is in
README.md, and a test checks each row): 0 ok, 1 problems found, 2 usage or configuration error, 3 another
runner holds the lease, 4 tracker unreachable, 5 the state store cannot be read or written, 130
interrupted (Ctrl-C).
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import click

from casewarden.connectors.registry import connector_types
from casewarden.errors import (
    CaseError,
    CasewardenError,
    ConfigError,
    LockedError,
    PolicyError,
    StateError,
)
from casewarden.policy.explain import due_untouched, explain
from casewarden.policy.loader import load_policy
from casewarden.policy.presets import preset_names, preset_path
from casewarden.sync.logs import setup_logging
from casewarden.sync.render import render_tables
from casewarden.sync.terminal import make_console, say

if TYPE_CHECKING:
    from casewarden.sync.progress import CycleProgress

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE, EXIT_LOCKED, EXIT_TRACKER = 0, 1, 2, 3, 4
EXIT_STATE = 5
EXIT_INTERRUPTED = 130  # 128 + SIGINT, what a shell reports for a command stopped by Ctrl-C

# text from files and trackers is printed as it is, never as markup (see casewarden.sync.terminal)
console = make_console()
err_console = make_console(stderr=True)


def _json_errors() -> bool:
    ctx = click.get_current_context(silent=True)
    root = ctx.find_root() if ctx is not None else None
    return bool(root is not None and isinstance(root.obj, dict) and root.obj.get("log_format") == "json")


def fail(label: str, messages: list[str], code: int, *, footer: str | None = None) -> NoReturn:
    """Report an error and exit: ``label message`` lines for people, or with ``--log-format json`` one
    JSON object per message on stderr (so a log shipper never meets a line it cannot parse)."""
    if _json_errors():
        for m in messages:
            record: dict[str, object] = {
                "ts": datetime.now(UTC).isoformat(),
                "level": "error",
                "logger": "casewarden.cli",
            }
            record.update({"msg": m, "kind": label, "exit_code": code})
            click.echo(json.dumps(record), err=True)
    else:
        style = "yellow" if code == EXIT_LOCKED else "red"
        for m in messages:
            say(err_console, (label, style), f" {m}")
        if footer:
            say(err_console, footer)
    sys.exit(code)


class TrackerUnavailable(CasewardenError):
    """A tracker a command needs could not be reached (exit 4)."""


def _wants_json(args: list[str]) -> bool:
    """Whether the command line asked for JSON logs (read from the arguments: a usage error is found
    before any option has been parsed)."""
    for i, a in enumerate(args):
        if a == "--":
            break
        if a == "--log-format=json" or (a == "--log-format" and args[i + 1 : i + 2] == ["json"]):
            return True
    return False


class CliGroup(click.Group):
    """Maps casewarden errors to messages and exit codes in one place."""

    def main(  # type: ignore[override]
        self,
        args: list[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: object,
    ) -> object:
        """click's own ending, with two changes: Ctrl-C anywhere (parsing included) exits 130, not 1;
        and with ``--log-format json`` a usage error is a JSON line too."""
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, False, **extra)
        argv = list(sys.argv[1:] if args is None else args)
        try:
            rv = super().main(argv, prog_name, complete_var, False, **extra)
        except click.ClickException as exc:
            if not _wants_json(argv):
                exc.show()
                sys.exit(exc.exit_code)
            record: dict[str, object] = {
                "ts": datetime.now(UTC).isoformat(),
                "level": "error",
                "logger": "casewarden.cli",
            }
            record.update({"msg": exc.format_message(), "kind": "usage", "exit_code": exc.exit_code})
            click.echo(json.dumps(record), err=True)
            sys.exit(exc.exit_code)
        except click.Abort as exc:
            if isinstance(exc.__cause__, KeyboardInterrupt):
                sys.exit(EXIT_INTERRUPTED)
            click.echo("Aborted!", err=True)
            sys.exit(1)
        sys.exit(rv if isinstance(rv, int) else EXIT_OK)

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except PolicyError as exc:
            fail(
                "error",
                [str(p) for p in exc.problems],
                EXIT_PROBLEMS,
                footer=f"{len(exc.problems)} problem(s) found.",
            )
        except LockedError as exc:
            fail("locked", [str(exc)], EXIT_LOCKED)
        except StateError as exc:
            fail("error", [str(exc)], EXIT_STATE)
        except ConfigError as exc:  # every located problem on its own line
            fail("error", [str(p) for p in exc.problems] or [str(exc)], EXIT_USAGE)
        except CaseError as exc:
            fail("error", [str(exc)], EXIT_USAGE)
        except CasewardenError as exc:
            fail("error", [str(exc)], EXIT_TRACKER)
        except KeyboardInterrupt:
            fail(
                "interrupted",
                ["stopped by Ctrl-C; the next run carries on from what was recorded"],
                EXIT_INTERRUPTED,
            )


@click.group(cls=CliGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="casewarden")
@click.option(
    "--log-format",
    type=click.Choice(["human", "json"]),
    default="human",
    show_default=True,
    help="log lines on stderr: human-readable or JSON lines",
)
@click.option(
    "--log-level",
    type=click.Choice(["debug", "info", "warning", "error"]),
    default="warning",
    show_default=True,
)
@click.pass_context
def main(ctx: click.Context, log_format: str, log_level: str) -> None:
    """casewarden: support case handling policy as code, enforced on the trackers you already use."""
    ctx.obj = {"log_format": log_format}
    setup_logging(log_format, log_level)


CONFIG_OPTION = click.option(
    "-c",
    "--config",
    "config",
    default="casewarden.yaml",
    show_default=True,
    type=click.Path(dir_okay=False),
    help="the deployment file",
)


def output_format(*extra: str, default: str = "text") -> Callable[[Callable[..., None]], Callable[..., None]]:
    """The one output-format flag, the same on every command that prints data: ``--format text|json``
    (plus a command's own formats, e.g. report's csv and html); ``--json`` is short for ``--format json``.
    The command receives ``fmt``."""
    choices = ["text", "json", *extra]

    def decorate(command: Callable[..., None]) -> Callable[..., None]:
        @functools.wraps(command)
        def wrapper(*args: object, json_flag: bool = False, fmt: str = default, **kwargs: object) -> None:
            return command(*args, fmt="json" if json_flag else fmt, **kwargs)

        wrapper = click.option("--json", "json_flag", is_flag=True, help="short for --format json")(wrapper)
        return click.option(
            "--format",
            "fmt",
            type=click.Choice(choices),
            default=default,
            show_default=True,
            help="text for people, json for scripts" + (f" (or {', '.join(extra)})" if extra else ""),
        )(wrapper)

    return decorate


def _progress() -> CycleProgress:
    """Progress of a cycle on stderr: live when stderr is a terminal, log lines (INFO) otherwise."""
    from casewarden.sync.progress import CycleProgress

    return CycleProgress(err_console)


@main.command("demo")
@click.option("--preset", default="priority-lifecycle", show_default=True, help="bundled preset to enforce")
@click.option("--cases", default=300, show_default=True, type=click.IntRange(1, 1_000_000))
@click.option("--seed", default=7, show_default=True, type=int)
@click.option(
    "--keep",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="directory to keep the demo tracker, deployment and state in (default: a temporary one)",
)
def demo(preset: str, cases: int, seed: int, keep: Path | None) -> None:
    """Full cycle on the embedded tracker with generated cases: plan, run, run again, report."""
    from casewarden.sync.demo import run_demo

    sys.exit(run_demo(console, preset=preset, cases=cases, seed=seed, keep=keep, progress=_progress))


def _tracker_type(value: str) -> str:
    """Checked when the command runs, not at import, so a connector plugin installed later is found."""
    types = connector_types()
    if value not in types:
        from casewarden.policy.located import unknown_name

        raise click.BadParameter(unknown_name("tracker type", value, types))
    return value


@main.command("init")
@click.option("--preset", required=True, help="preset to start from (see: casewarden policy presets)")
@click.option(
    "--tracker",
    default="local",
    show_default=True,
    callback=lambda _ctx, _param, value: _tracker_type(value),
    help="connector type: local, zendesk, jira, or an installed plugin's",
)
@click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
)
@click.option("--force", is_flag=True, help="overwrite existing files")
def init(preset: str, tracker: str, directory: Path, force: bool) -> None:
    """Write a commented policy.yaml and casewarden.yaml to start from."""
    from casewarden.policy.located import plain
    from casewarden.sync.deployment import load_deployment, named_variables
    from casewarden.sync.init_files import write_init

    policy_out, deploy_out = write_init(directory, preset, tracker, force=force)
    written = load_deployment(deploy_out)
    variables = list(dict.fromkeys(var for _at, var in named_variables(plain(written.tree))))
    say(console, f"wrote {policy_out} and {deploy_out}")
    say(console, ("next steps:", "bold"))
    steps = []
    if variables:
        steps.append(
            f"set the environment variable(s) {deploy_out.name} names (never in the file): {', '.join(variables)}"
        )
    steps.append(f"review {deploy_out.name}: tracker settings, level and status maps, channels and contacts")
    commands = [
        (f"casewarden doctor -c {deploy_out}", "connection, mappings, fields, channels (a test request)"),
        (f"casewarden bootstrap -c {deploy_out} --apply", "create the fields and statuses casewarden writes"),
        (f"casewarden plan -c {deploy_out}", "what a run would do; changes nothing"),
        (f"casewarden run --once -c {deploy_out}", "one cycle (or --every: the schedule in the file)"),
    ]
    width = max(len(c) for c, _why in commands)
    steps += [f"{c:<{width}}  {why}" for c, why in commands]
    for i, step in enumerate(steps, 1):
        say(console, f"  {i}. {step}")


@main.command("plan")
@CONFIG_OPTION
@output_format()
def plan(config: str, fmt: str) -> None:
    """Print exactly what 'run' would do now; changes nothing."""
    from casewarden.sync.deployment import load_deployment
    from casewarden.sync.summary import cycle_json, print_cycle
    from casewarden.sync.wiring import Runtime

    progress = _progress()
    try:
        with Runtime(load_deployment(config), with_channels=False, require_env=True, progress=progress) as rt:
            result = rt.engine.plan()
    finally:
        progress.close()
    if fmt == "json":
        click.echo(json.dumps(cycle_json(result), indent=2))
    else:
        print_cycle(result, console)
    if result.tracker_errors:
        sys.exit(EXIT_TRACKER)


@main.command("run")
@CONFIG_OPTION
@click.option("--once", "once", is_flag=True, help="run one cycle and exit (the default)")
@click.option(
    "--every",
    "every",
    is_flag=False,
    flag_value="schedule",
    default=None,
    help="keep running, one cycle per interval (30s, 5m, 1h); --every alone: the file's schedule.every",
)
@output_format()
@click.option(
    "--yes",
    "confirm",
    is_flag=True,
    help="send more than notifications.max_per_cycle in a cycle, and the notifications held over it",
)
def run(config: str, once: bool, every: str | None, fmt: str, confirm: bool) -> None:
    """Run sync cycles: exit 0 when all changes applied, 1 when some failed (or notifications failed,
    were given up or held over the cap), 3 when another runner holds the lock, 4 when a tracker could not
    be reached (the other trackers still ran), 5 when the state store cannot be read or written, 130 on
    Ctrl-C (with --every: the first stops after the cycle in progress, the second at once)."""
    from casewarden.sync.deployment import load_deployment, parse_interval
    from casewarden.sync.scheduler import run_every
    from casewarden.sync.summary import cycle_json, print_cycle
    from casewarden.sync.wiring import Runtime

    if once and every:
        raise click.UsageError("use --once or --every, not both")
    seconds = None
    if every and every != "schedule":
        try:
            seconds = parse_interval(every)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--every") from None
    deployment = load_deployment(config)
    if every == "schedule":  # the deployment's schedule.every, checked when the file was loaded
        seconds = parse_interval(deployment.spec.schedule.every)
    with Runtime(deployment) as rt:

        def cycle() -> int:
            progress = rt.engine.progress = _progress()
            try:
                result = rt.engine.run_once(confirm=confirm)
            finally:
                progress.close()
            if fmt == "json":
                click.echo(json.dumps(cycle_json(result)))
            else:
                print_cycle(result, console)
            if result.tracker_errors:
                return EXIT_TRACKER
            failed = any(
                t.failed or t.notify_failed or t.notify_given_up or t.notify_held for t in result.trackers
            )
            return EXIT_PROBLEMS if failed else EXIT_OK

        if seconds is not None:
            failures = run_every(seconds, cycle)
            sys.exit(EXIT_PROBLEMS if failures else EXIT_OK)
        sys.exit(cycle())


@main.command("report")
@CONFIG_OPTION
@click.option("--since", default=None, help="cases opened since this date or instant (ISO-8601)")
@click.option("--until", default=None, help="cases opened until this date or instant (default: now)")
@click.option("--tracker", default=None, help="only this tracker")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "table", "csv", "json", "html"]),
    default="table",
    show_default=True,
    help="table (or text: the same), csv, json, html",
)
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None, help="write to this file")
@click.option(
    "--cross-check",
    "cross",
    is_flag=True,
    help="compare with the trackers' own SLA timers (Zendesk SLA policies, JSM SLAs) for open cases",
)
@click.option("--case", "cases", multiple=True, help="with --cross-check: only these case ids")
@click.option(
    "--limit",
    type=click.IntRange(1, 10_000),
    default=200,
    show_default=True,
    help="with --cross-check: cases to compare",
)
@click.option(
    "--tolerance", default="1m", show_default=True, help="with --cross-check: differences that still agree"
)
def report(
    config: str,
    since: str | None,
    until: str | None,
    tracker: str | None,
    fmt: str,
    output: str | None,
    cross: bool,
    cases: tuple[str, ...],
    limit: int,
    tolerance: str,
) -> None:
    """SLA attainment per level and target, breaches and how late, escalations reached; with
    --cross-check, where the trackers' own SLA timers and casewarden's disagree, and by how much."""
    fmt = "table" if fmt == "text" else fmt
    if cross:
        _cross_check(config, tracker, fmt, cases, limit, tolerance)
        return
    from casewarden.sync.deployment import load_deployment
    from casewarden.sync.report import build_report, render_report
    from casewarden.sync.state import StateStore

    if output:
        # a missing folder is refused, not created: a typo in -o should not scatter reports around
        folder = Path(output).parent
        if not folder.is_dir():
            raise click.BadParameter(
                f"the folder {folder} does not exist; create it first, or write elsewhere", param_hint="-o"
            )
    deployment = load_deployment(config)
    if tracker is not None:
        try:
            deployment.tracker(tracker)
        except ConfigError as exc:  # an empty report for a typo would look like a quiet month
            raise click.BadParameter(str(exc).split(": ", 1)[-1], param_hint="--tracker") from None
    store = StateStore(deployment.state_path)
    try:
        rep = build_report(
            store,
            since=_parse_day_or_instant(since) if since else None,
            until=_parse_day_or_instant(until) if until else datetime.now(UTC),
            tracker=tracker,
        )
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--since/--until") from None
    finally:
        store.close()
    if output:
        try:
            with open(output, "w", encoding="utf-8", newline="") as fh:
                render_report(rep, fmt, fh, None)  # type: ignore[arg-type]
        except OSError as exc:
            raise click.BadParameter(
                f"cannot write {output}: {exc.strerror or exc}", param_hint="-o"
            ) from None
        say(console, f"wrote {output}")
    else:
        render_report(rep, fmt, None if fmt == "table" else sys.stdout, console)  # type: ignore[arg-type]


def _cross_check(
    config: str, tracker: str | None, fmt: str, cases: tuple[str, ...], limit: int, tolerance: str
) -> None:
    """``report --cross-check``: reads the trackers live, so it needs their credentials like ``plan``."""
    from casewarden.sync.crosscheck import cross_check
    from casewarden.sync.crosscheck_view import crosscheck_tables
    from casewarden.sync.deployment import load_deployment, parse_interval
    from casewarden.sync.wiring import Runtime

    if fmt not in ("table", "json"):
        raise click.BadParameter("--cross-check prints as table or json", param_hint="--format")
    try:
        slack = parse_interval(tolerance)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--tolerance") from None
    deployment = load_deployment(config)
    names = [t.name for t in deployment.spec.trackers]
    if tracker is not None and tracker not in names:
        raise click.BadParameter(
            f"no tracker '{tracker}' (trackers: {', '.join(names)})", param_hint="--tracker"
        )
    with Runtime(deployment, with_channels=False) as rt:
        results = cross_check(
            rt, datetime.now(UTC), tracker=tracker, limit=limit, tolerance=slack, case_ids=cases
        )
    render_tables(crosscheck_tables(results, slack), fmt, console)
    sys.exit(EXIT_PROBLEMS if any(r.disagreements for r in results) else EXIT_OK)


@main.command("doctor")
@CONFIG_OPTION
@output_format()
def doctor(config: str, fmt: str) -> None:
    """Check the deployment: connection, permissions, mapping of every level and status, fields present,
    notification channels; exit 1 if anything needs fixing."""
    from casewarden.sync.deployment import load_deployment
    from casewarden.sync.doctor import run_doctor

    checks = run_doctor(load_deployment(config))
    bad = [c for c in checks if not c.ok]
    if fmt == "json":
        click.echo(
            json.dumps(
                {
                    "ok": not bad,
                    "checks": [
                        {"scope": c.scope, "name": c.name, "ok": c.ok, "detail": c.detail} for c in checks
                    ],
                },
                indent=2,
            )
        )
    else:
        for c in checks:
            mark = ("ok  ", "green") if c.ok else ("FAIL", "red")
            say(console, mark, f" {c.scope}: {c.name}" + (f" - {c.detail}" if c.detail else ""))
        say(console, f"{len(checks) - len(bad)} ok, {len(bad)} to fix")
    if any(c.scope == "state" for c in bad):
        sys.exit(EXIT_STATE)  # the state store's own exit code, as 'run' would exit
    sys.exit(EXIT_PROBLEMS if bad else EXIT_OK)


@main.command("bootstrap")
@CONFIG_OPTION
@click.option("--apply", "do_apply", is_flag=True, help="create what is missing (default: only show it)")
@output_format()
def bootstrap(config: str, do_apply: bool, fmt: str) -> None:
    """Show, then with --apply create, the tracker fields and statuses the deployment needs."""
    from casewarden.sync.deployment import load_deployment
    from casewarden.sync.wiring import Runtime, needs

    failed = False
    out: list[dict[str, object]] = []
    text = fmt != "json"
    with Runtime(load_deployment(config), with_channels=False) as rt:
        for spec in rt.deployment.spec.trackers:
            conn = rt.connectors.get(spec.name)
            if conn is None:
                say(err_console, ("error", "red"), f" {spec.name}: {rt.unavailable[spec.name]}")
                out.append({"tracker": spec.name, "error": rt.unavailable[spec.name]})
                failed = True
                continue
            steps = conn.bootstrap_plan(needs(rt.policy, spec))
            missing = [s for s in steps if not s.exists and not s.manual]
            manual = [s for s in steps if not s.exists and s.manual]
            created = 0
            if do_apply and missing:
                conn.bootstrap_apply(missing)
                created = len(missing)
            out.append(
                {
                    "tracker": spec.name,
                    "steps": [
                        {
                            "kind": s.kind,
                            "name": s.name,
                            "exists": s.exists,
                            "created": do_apply and not s.exists and not s.manual,
                            "manual": s.manual or None,
                            "detail": s.detail or None,
                        }
                        for s in steps
                    ],
                    "created": created,
                    "missing": len(missing) - created,
                    "manual": len(manual),
                }
            )
            if not text:
                continue
            for s in steps:
                state = (
                    "exists "
                    if s.exists
                    else ("admin  " if s.manual else ("create " if do_apply else "missing"))
                )
                say(
                    console,
                    f"  {state} {spec.name}: {s.kind} {s.name}" + (f" ({s.detail})" if s.detail else ""),
                )
            for s in manual:
                say(console, f"    an admin must: {s.manual}")
            if created:
                say(console, f"{spec.name}: created {created}")
            elif missing:
                say(console, f"{spec.name}: {len(missing)} missing; run again with --apply to create them")
            if manual:
                say(console, f"{spec.name}: {len(manual)} step(s) casewarden cannot do; see above")
    if not text:
        click.echo(json.dumps({"trackers": out}, indent=2))
    if failed:
        sys.exit(EXIT_TRACKER)


@main.group("tracker")
def tracker_group() -> None:
    """Load cases into the embedded (local) tracker: from a CSV or JSON file, or generated."""


TRACKER_OPTION = click.option(
    "--tracker",
    default=None,
    help="the local tracker to load into (default: the deployment's first local one)",
)


@tracker_group.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@CONFIG_OPTION
@TRACKER_OPTION
@output_format()
def tracker_import(file: Path, config: str, tracker: str | None, fmt: str) -> None:
    """Import the cases in FILE (.csv: one case a row; .json: a list of cases, with replies, status and
    level changes). The whole file is checked first: nothing is imported unless every row is right."""
    from casewarden.sync.deployment import load_deployment
    from casewarden.sync.tracker_import import import_cases

    deployment = load_deployment(config)
    name, path, ids = import_cases(file, load_policy(deployment.policy_source), deployment, tracker)
    _loaded(fmt, name, path, ids, f"imported {len(ids)} case(s) from {file}")


@tracker_group.command("generate")
@CONFIG_OPTION
@TRACKER_OPTION
@click.option("--cases", required=True, type=click.IntRange(1, 1_000_000), help="how many case histories")
@click.option(
    "--days", default=30, show_default=True, type=click.IntRange(1, 3650), help="opened over the last N days"
)
@click.option("--seed", default=0, show_default=True, type=int)
@output_format()
def tracker_generate(config: str, tracker: str | None, cases: int, days: int, seed: int, fmt: str) -> None:
    """Generate realistic case histories for the deployment's policy (levels, statuses, milestones)."""
    from casewarden.sync.deployment import load_deployment
    from casewarden.sync.tracker_import import generate_cases

    deployment = load_deployment(config)
    pol = load_policy(deployment.policy_source)
    name, path, ids = generate_cases(
        pol, deployment, tracker, cases=cases, days=days, seed=seed, now=datetime.now(UTC)
    )
    _loaded(fmt, name, path, ids, f"generated {len(ids)} case(s) opened over the last {days} day(s)")


def _loaded(fmt: str, tracker: str, path: Path, ids: list[str], what: str) -> None:
    if fmt == "json":
        click.echo(
            json.dumps({"tracker": tracker, "path": str(path), "cases": len(ids), "ids": ids}, indent=2)
        )
        return
    first = f" ({ids[0]} .. {ids[-1]})" if ids else ""
    say(console, f"{tracker}: {what} into {path}{first}; next: casewarden plan")


@main.group("case")
def case_group() -> None:
    """Look at one case the way the policy sees it."""


@case_group.command("explain")
@click.argument("case_id", metavar="ID")
@CONFIG_OPTION
@click.option("--tracker", default=None, help="the tracker the case is on (default: the deployment's first)")
@click.option("--at", "at", default=None, help="explain as of this ISO-8601 instant (default: now)")
@output_format()
def case_explain(case_id: str, config: str, tracker: str | None, at: str | None, fmt: str) -> None:
    """The case's timeline, each target's clock with its pauses and calendar, why it is breached or when
    it will be, its escalation level and what comes next. Reads the tracker; changes nothing."""
    from casewarden.sync.case_explain import explain_case, explanation_json, print_explanation
    from casewarden.sync.deployment import load_deployment
    from casewarden.sync.wiring import Runtime

    now = _parse_instant(at) if at else datetime.now(UTC)
    deployment = load_deployment(config)
    name = tracker or deployment.spec.trackers[0].name
    try:
        deployment.tracker(name)
    except ConfigError as exc:
        raise click.BadParameter(str(exc).split(": ", 1)[-1], param_hint="--tracker") from None
    with Runtime(deployment, with_channels=False) as rt:
        conn = rt.connectors.get(name)
        if conn is None:
            raise TrackerUnavailable(
                f"{name}: {rt.unavailable.get(name, 'the connector could not be built')}"
            )
        found = conn.read_cases([case_id])
        if not found:
            raise click.BadParameter(f"no case '{case_id}' on tracker '{name}'", param_hint="ID")
        tc = found[0]
        explanation = explain_case(rt.policy, tc.case, now, url=tc.url)
        explanation.problems = list(tc.problems)
        keys = [str(a.key) for a in explanation.evaluation.due]
        outbox = rt.state.outbox_states(name, keys)
        explanation.done = {**rt.state.ledger_status(name, keys), **outbox}
    if fmt == "json":
        click.echo(json.dumps(explanation_json(explanation), indent=2))
    else:
        print_explanation(explanation, console)


@main.group()
def policy() -> None:
    """Check, explain and inspect policy files and bundled presets."""


@policy.command("validate")
@click.argument("files", nargs=-1, required=True)
@output_format()
def policy_validate(files: tuple[str, ...], fmt: str) -> None:
    """Check policy FILES (or preset names); exit 1 if any has a problem, listing every one."""
    failed = 0
    results: list[dict[str, object]] = []
    for f in files:
        try:
            p = load_policy(f)
        except PolicyError as exc:
            failed += 1
            results.append({"file": f, "ok": False, "problems": [str(prob) for prob in exc.problems]})
            if fmt != "json":
                for prob in exc.problems:
                    say(err_console, ("error", "red"), f" {prob}")
            continue
        counts = {"levels": len(p.levels), "statuses": len(p.statuses), "calendars": len(p.calendars)}
        counts["escalation_paths"] = len(p.paths)
        results.append({"file": f, "ok": True, "name": p.name, **counts})
        if fmt != "json":
            say(
                console,
                ("ok", "green"),
                f" {f}: {p.name} ({len(p.levels)} levels, {len(p.statuses)} statuses, "
                f"{len(p.calendars)} calendars, {len(p.paths)} escalation paths)",
            )
    if fmt == "json":
        click.echo(json.dumps(results, indent=2))
    if failed:
        if fmt != "json":
            say(err_console, f"{failed} of {len(files)} file(s) have problems.")
        sys.exit(EXIT_PROBLEMS)


@policy.command("explain")
@click.argument("file")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "table", "markdown", "json"]),
    default="table",
    show_default=True,
    help="table (or text: the same), markdown, json",
)
def policy_explain(file: str, fmt: str) -> None:
    """Print the policy as tables: levels with targets and coverage, calendars, escalation, statuses."""
    render_tables(explain(load_policy(file)), "table" if fmt == "text" else fmt, console)


@policy.command("schema")
def policy_schema() -> None:
    """Print the JSON Schema of policy files, for editor completion and checks."""
    from casewarden.policy.model import PolicySpec

    schema = PolicySpec.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "casewarden policy"
    click.echo(json.dumps(schema, indent=2))


@policy.command("presets")
@output_format()
def policy_presets(fmt: str) -> None:
    """List the bundled presets; a preset name works wherever a policy file does."""
    listed = []
    for name in preset_names():
        p = load_policy(name)
        path = preset_path(name)
        listed.append(
            {"name": name, "description": p.spec.policy.description, "source": p.spec.policy.source}
        )
        listed[-1]["file"] = str(path)
        if fmt != "json":
            say(console, (name, "bold"), f"  {p.spec.policy.description}")
            say(console, f"    source: {p.spec.policy.source}; file: {path}")
    if fmt == "json":
        click.echo(json.dumps(listed, indent=2))


def _parse_instant(text: str) -> datetime:
    try:
        t = datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(
            f"'{text}' is not an ISO-8601 instant, e.g. 2026-11-20T09:30:00-07:00"
        ) from None
    if t.tzinfo is None:
        raise click.BadParameter(f"'{text}' has no UTC offset; add one, e.g. 2026-11-20T09:30:00-07:00 or Z")
    return t


@main.command("due")
@click.argument("policy_file", metavar="POLICY")
@click.option("--level", "level", required=True, help="level id, name or alias")
@click.option("--opened", required=True, help="ISO-8601 instant with its UTC offset")
@click.option("--region", default=None, help="region (picks the business-hours calendar)")
@output_format()
def due(policy_file: str, level: str, opened: str, region: str | None, fmt: str) -> None:
    """When each target and escalation level falls for a case opened at OPENED that nobody touches."""
    pol = load_policy(policy_file)
    report = due_untouched(pol, level, _parse_instant(opened), region)
    if fmt == "json":
        click.echo(
            json.dumps(
                {
                    "level": report.level,
                    "targets": [
                        {"name": t.name, "metric": t.metric, "due": _iso(t.due), "warn_at": _iso(t.warn_at)}
                        for t in report.targets
                    ],
                    "escalations": [{"level": lvl, "at": _iso(at)} for lvl, at in report.escalations],
                },
                indent=2,
            )
        )
        return
    say(console, f"Level {report.level}, opened {opened}" + (f", region {region}" if region else ""))
    if not report.targets and not report.escalations:
        say(console, "  no targets and no escalation path at this level")
    for t in report.targets:
        due_text = _iso(t.due) or "untimed"
        warn = f" (warn {_iso(t.warn_at)})" if t.warn_at else ""
        say(console, f"  {t.name:<20} due {due_text}{warn}")
    for lvl, at in report.escalations:
        say(console, f"  escalation level {lvl:<4} at  {_iso(at)}")


def _parse_day_or_instant(text: str) -> datetime:
    if len(text) == 10:
        try:
            return datetime.fromisoformat(text).replace(tzinfo=UTC)
        except ValueError:
            pass
    return _parse_instant(text)


def _iso(t: datetime | None) -> str | None:
    return t.isoformat() if t is not None else None


if __name__ == "__main__":  # pragma: no cover
    main()
