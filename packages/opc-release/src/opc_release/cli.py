"""``opc release ...``: verify and publish released model directories from the command line.

    opc release verify DIR_OR_URI [--reference PRETRAIN_OUTPUT]   exit 0 only when every check passes
    opc release publish DIR --to DEST [--force]                   DEST: folder, s3://prefix, hf://org/repo

The release itself is built by the stage (``opc run release``). Check results go to stdout, logs to stderr.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(help="Verify and publish released Hugging Face model directories.", no_args_is_help=True,
                  pretty_exceptions_enable=False)


@app.command()
def verify(
    target: Annotated[str, typer.Argument(help="release model dir (local path or s3://...)")],
    reference: Annotated[str | None, typer.Option(help="pretrain/sft output to compare with (default: the one "
                                                       "named in opc_release.json, if reachable)")] = None,
    new_tokens: Annotated[int, typer.Option(help="tokens to generate")] = 8,
) -> None:
    """Re-check sums, load with transformers offline, compare logits with our model, generate."""
    from opc_release.verify import verify_release

    report = verify_release(target, reference_uri=reference, new_tokens=new_tokens)
    for line in report.lines():
        typer.echo(line)
    raise typer.Exit(0 if report.ok else 1)


@app.command()
def publish(
    release_dir: Annotated[Path, typer.Argument(help="release model dir (local)")],
    to: Annotated[list[str], typer.Option("--to", help="destination(s): folder, s3://prefix, hf://org/repo")],
    force: Annotated[bool, typer.Option(help="replace different content under the same name+version")] = False,
) -> None:
    """Publish a release (identical content again = no-op; different content refused unless --force)."""
    from opc_release.publish import publish as do_publish

    for dest in to:
        result = do_publish(release_dir, dest, force=force)
        typer.echo(f"{result.action}: {result.uri}")
