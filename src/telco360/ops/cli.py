"""``telco360 start | backfill | replay | replay-rejected | redrive | status``: operate the deployed stack."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from telco360.contracts import DATASETS
from telco360.local.cli import EXIT_FAILED, EXIT_OK, EXIT_USAGE, positive_int, run_date_arg

FROM_STEPS = ("clean", "stage")
_CAUSE_CHARS = 400


def positive_seconds(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        seconds = 0.0
    if not seconds > 0:
        raise argparse.ArgumentTypeError(f"must be a number of seconds > 0, got {value!r}")
    return seconds


def _stack_options() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    group = common.add_argument_group("stack")
    group.add_argument("--stack", help="stack name (default: stack_name in samconfig.toml)")
    group.add_argument("--config-env", default="default", help="samconfig.toml environment (default: default)")
    group.add_argument("--samconfig", type=Path, help="samconfig.toml (default: the nearest one upwards)")
    group.add_argument("--region", help="AWS region (default: samconfig.toml's, else the AWS profile's)")
    return common


def _wait_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--wait", action="store_true", help="wait for the execution to end and show the outcome")
    parser.add_argument("--poll", type=positive_seconds, default=10.0, metavar="SECONDS",
                        help="seconds between status checks with --wait (default 10)")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    common = _stack_options()
    start = subparsers.add_parser("start", parents=[common], help="start a pipeline run on AWS for one date")
    start.add_argument("--date", type=run_date_arg, required=True, metavar="D", help="run date YYYY-MM-DD")
    start.add_argument("--from", dest="from_step", choices=FROM_STEPS, help="start at Job A (clean) or Job B (stage)")
    _wait_options(start)
    start.set_defaults(func=_start)

    backfill = subparsers.add_parser("backfill", parents=[common],
                                     help="one execution that runs each date of a range in order")
    backfill.add_argument("--from", dest="from_date", type=run_date_arg, required=True, metavar="D1")
    backfill.add_argument("--to", dest="to_date", type=run_date_arg, required=True, metavar="D2")
    backfill.add_argument("--from-step", choices=FROM_STEPS, help="start each date at Job A or Job B")
    _wait_options(backfill)
    backfill.set_defaults(func=_backfill)

    replay = subparsers.add_parser("replay", parents=[common],
                                   help="run Job A (then Job B) again over a date's archived files")
    replay.add_argument("--date", type=run_date_arg, required=True, metavar="D")
    replay.add_argument("--dataset", choices=DATASETS, required=True)
    _wait_options(replay)
    replay.set_defaults(func=_replay)

    fixed = subparsers.add_parser("replay-rejected", parents=[common],
                                  help="send a fixed rejected file back through the validator")
    fixed.add_argument("key", metavar="KEY", help="rejected/<dataset>/ingest_date=<D>/<file> (or its s3:// URI)")
    fixed.set_defaults(func=_replay_rejected)

    redrive = subparsers.add_parser("redrive", parents=[common],
                                    help="send the S3 events parked in the validator's on-failure queue again")
    redrive.add_argument("--dry-run", action="store_true", help="list the parked events; send and delete nothing")
    redrive.add_argument("--limit", type=positive_int, default=1000, help="at most this many events (default 1000)")
    redrive.set_defaults(func=_redrive)

    status = subparsers.add_parser("status", parents=[common], help="recent executions and what each did")
    status.add_argument("--date", type=run_date_arg, metavar="D", help="only executions that cover this date")
    status.add_argument("--limit", type=positive_int, default=10, help="at most this many (default 10)")
    status.set_defaults(func=_status)


# --- plumbing ---------------------------------------------------------------------------------------
class _Usage(Exception):
    """A usage or configuration problem found before any AWS call: exit 2."""


def _say(text: str = "") -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def _error(command: str, message: str) -> None:
    sys.stderr.write(f"telco360 {command}: error: {message}\n")


def _session(args: argparse.Namespace) -> tuple[Any, str]:
    """(boto3 session, stack name) from the options and samconfig.toml."""
    import boto3

    from telco360.ops.stack import StackError, find_samconfig, read_deployment

    region = args.region
    name = args.stack
    samconfig = args.samconfig or find_samconfig()
    if samconfig is not None and (name is None or region is None):
        if not samconfig.is_file():
            raise _Usage(f"{samconfig} does not exist")
        try:
            deployment = read_deployment(samconfig, args.config_env)
        except StackError as exc:
            raise _Usage(str(exc)) from None
        name, region = name or deployment.stack_name, region or deployment.region
    if name is None:
        raise _Usage("no samconfig.toml found here or above; pass --stack NAME")
    return boto3.session.Session(region_name=region), name


def _with_stack(args: argparse.Namespace, action: Any) -> int:
    """Resolve the stack, run ``action(session, stack)`` and turn AWS and stack errors into messages."""
    from botocore.exceptions import BotoCoreError, ClientError

    from telco360.ops.lake import LakeError
    from telco360.ops.stack import StackError, load_stack

    try:
        session, name = _session(args)
        stack = load_stack(session.client("cloudformation"), name)
        return int(action(session, stack))
    except _Usage as exc:
        _error(args.command, str(exc))
        return EXIT_USAGE
    except (StackError, LakeError, ClientError, BotoCoreError) as exc:
        _error(args.command, str(exc))
        return EXIT_FAILED


def _start_and_report(args: argparse.Namespace, session: Any, stack: Any, payload: dict[str, str]) -> int:
    from telco360.ops import executions

    sfn = session.client("stepfunctions")
    arn = executions.start(sfn, stack.state_machine_arn, payload)
    _say(f"started {arn}")
    _say(f"  input {payload}")
    if not args.wait:
        return EXIT_OK
    answer = executions.wait(sfn, arn, poll_seconds=args.poll, on_poll=_show_poll)
    sys.stderr.write("\n" if sys.stderr.isatty() else "")
    _show(executions.view(sfn, arn))
    return EXIT_OK if answer["status"] == "SUCCEEDED" else EXIT_FAILED


def _show_poll(answer: dict[str, Any]) -> None:
    if sys.stderr.isatty():
        sys.stderr.write(f"\r\033[K  {answer['name']}: {answer['status']}")
        sys.stderr.flush()


def _show(execution: Any) -> None:
    stop = execution.stop.isoformat(timespec="seconds") if execution.stop else "-"
    _say(f"{execution.name}  {execution.status}  dates {execution.dates}  "
         f"start {execution.start.isoformat(timespec='seconds')}  stop {stop}")
    for task in execution.tasks:
        on = f" {task.dates}" if task.dates else ""
        _say(f"    {task.state}{on}: {task.status}" + (f" ({task.error})" if task.error else ""))
    if execution.rebuilt:
        # Job B rolls forward: a rerun of an old date rebuilds every later snapshot too.
        _say(f"    snapshots rebuilt ({len(execution.rebuilt)}): {', '.join(execution.rebuilt)}")
    if execution.error:
        cause = execution.cause or ""
        # A failed Glue task's cause embeds the whole JobRun document; its head names the step and date.
        _say(f"    error: {execution.error}: {cause[:_CAUSE_CHARS]}{'...' if len(cause) > _CAUSE_CHARS else ''}")


# --- commands ---------------------------------------------------------------------------------------
def _payload(args: argparse.Namespace, build: Callable[[], dict[str, Any]]) -> dict[str, Any] | None:
    """The execution input, or None after telling the user why the arguments are wrong."""
    try:
        return build()
    except ValueError as exc:
        _error(args.command, str(exc))
        return None


def _start(args: argparse.Namespace) -> int:
    from telco360.ops.executions import run_input

    payload = _payload(args, lambda: run_input(args.date, args.from_step))
    if payload is None:
        return EXIT_USAGE
    return _with_stack(args, lambda session, stack: _start_and_report(args, session, stack, payload))


def _backfill(args: argparse.Namespace) -> int:
    from telco360.ops.executions import backfill_input

    payload = _payload(args, lambda: backfill_input(args.from_date, args.to_date, args.from_step))
    if payload is None:
        return EXIT_USAGE
    return _with_stack(args, lambda session, stack: _start_and_report(args, session, stack, payload))


def _replay(args: argparse.Namespace) -> int:
    from telco360.ops.executions import run_input
    from telco360.ops.lake import archived_files

    payload = _payload(args, lambda: run_input(args.date, "clean"))
    if payload is None:
        return EXIT_USAGE

    def action(session: Any, stack: Any) -> int:
        files = archived_files(session.client("s3"), stack.bucket, args.dataset, args.date)
        if not files:
            _error(args.command, f"no archived {args.dataset} files for {args.date} in s3://{stack.bucket}; "
                                 "nothing to replay")
            return EXIT_FAILED
        _say(f"{len(files)} archived {args.dataset} file(s) for {args.date} go through Job A again:")
        for f in files:
            _say(f"  s3://{stack.bucket}/{f.key} ({f.size} bytes)")
        return _start_and_report(args, session, stack, payload)

    return _with_stack(args, action)


def _replay_rejected(args: argparse.Namespace) -> int:
    from telco360.ops.lake import replay_rejected

    def action(session: Any, stack: Any) -> int:
        key = args.key
        prefix = f"s3://{stack.bucket}/"
        if key.startswith("s3://"):
            if not key.startswith(prefix):
                raise _Usage(f"{key} is not in the stack's bucket {stack.bucket}")
            key = key[len(prefix):]
        raw = replay_rejected(session.client("s3"), stack.bucket, key)
        _say(f"copied s3://{stack.bucket}/{key} -> s3://{stack.bucket}/{raw} (confirmed); "
             "the rejected file and its reason file are deleted")
        _say("the validator now checks it again: see `telco360 status` or the alert topic for the outcome")
        return EXIT_OK

    return _with_stack(args, action)


def _redrive(args: argparse.Namespace) -> int:
    from telco360.ops.redrive import lambda_sender, redrive
    from telco360.ops.stack import FAILED_EVENTS_QUEUE_URL, VALIDATOR_FUNCTION_ARN

    def action(session: Any, stack: Any) -> int:
        queue_url = stack.output(FAILED_EVENTS_QUEUE_URL)
        send = lambda_sender(session.client("lambda"), stack.output(VALIDATOR_FUNCTION_ARN))
        result = redrive(session.client("sqs"), queue_url, send, limit=args.limit, dry_run=args.dry_run)
        verb = "would send" if args.dry_run else "sent"
        for event in result.sent:
            why = f" ({event.condition}{': ' + event.error if event.error else ''})" if event.condition else ""
            _say(f"{verb} {', '.join(event.keys) or event.message_id}{why}")
        for event, reason in result.kept:
            _say(f"kept {', '.join(event.keys) or event.message_id}: {reason}")
        _say(f"{len(result.sent)} event(s) {verb} to the validator, {len(result.kept)} kept in {queue_url}")
        return EXIT_FAILED if result.kept else EXIT_OK

    return _with_stack(args, action)


def _status(args: argparse.Namespace) -> int:
    from telco360.ops.executions import recent

    def action(session: Any, stack: Any) -> int:
        views = recent(session.client("stepfunctions"), stack.state_machine_arn, limit=args.limit,
                       run_date=args.date)
        if not views:
            _say("no executions" + (f" covering {args.date}" if args.date else ""))
        for execution in views:
            _show(execution)
        return EXIT_OK

    return _with_stack(args, action)
