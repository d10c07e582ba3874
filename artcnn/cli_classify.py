"""The CLI's museum side: `classify` over files, folders and IIIF manifests with a collection's records
joined and the results written as CSV, JSON and IIIF annotations; `export` of a model for use elsewhere."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

from artcnn.config import ENGINES, PredictConfig
from artcnn.fetching import FetchConfig
from artcnn.terminal import TerminalBar


def add_collection_flags(classify: argparse.ArgumentParser) -> None:
    """classify's flags for IIIF manifests, a records CSV and the JSON and annotation exports."""
    fetch = FetchConfig()
    classify.add_argument("--manifest", nargs="+", action="extend", default=[], metavar="URL_OR_FILE",
                          help="IIIF Presentation manifests (v2.1 or v3): every canvas is classified")
    classify.add_argument("--metadata", metavar="RECORDS_CSV",
                          help="the collection's records; their columns are added to the results")
    classify.add_argument("--key", help="the records' column that identifies an artwork, matched to a IIIF "
                                        "metadata field of that name or to the file name's stem (the canvas label)")
    classify.add_argument("--json", metavar="OUT", help="also write the verdicts as JSON (one object per artwork)")
    classify.add_argument("--annotations", metavar="DIR",
                          help="also write a IIIF annotation page per manifest (motivation classifying)")
    classify.add_argument("--workspace", type=Path, metavar="DIR",
                          help="record the classification in this workspace's catalogue, where the app shows it "
                               "(default: the app's workspace, ARTCNN_WORKSPACE or ./workspace, when it exists)")
    classify.add_argument("--cache", type=Path, default=fetch.cache,
                          help="folder of fetched IIIF responses (default %(default)s)")
    classify.add_argument("--timeout", type=float, default=fetch.timeout,
                          help="seconds to wait for an image server (default %(default)s)")
    classify.add_argument("--retries", type=int, default=fetch.retries,
                          help="further attempts after a failed fetch (default %(default)s)")
    classify.add_argument("--per-host", type=int, default=fetch.per_host,
                          help="requests in flight to one server at a time (default %(default)s)")
    classify.add_argument("--resume", action="store_true",
                          help="continue a run cut short: files already in --out are skipped and the new rows "
                               "appended (IIIF canvases already there are not written twice); --json and "
                               "--annotations then hold this run's artworks only")
    predict = PredictConfig()
    classify.add_argument("--engine", choices=ENGINES, default=predict.engine,
                          help="local: this machine's cores; ray: Ray Data, on this machine or the cluster of "
                               "--ray-address (pip install -r requirements-ray.txt) (default %(default)s)")
    classify.add_argument("--ray-address", default=predict.ray_address, metavar="ADDRESS",
                          help="the Ray cluster for --engine ray, e.g. ray://head:10001 (default: RAY_ADDRESS, "
                               "else a Ray started on this machine)")


def run_classify(args: argparse.Namespace, config: PredictConfig) -> int:
    """classify's handler, given the PredictConfig its flags make."""
    from artcnn.exports import new_run, write_annotations, write_json
    from artcnn.images import iter_image_files
    from artcnn.results_csv import result_columns, write_results_csv
    from artcnn.ray_engine import EngineFailed
    from artcnn.results_csv import finished_files
    from artcnn.records import read_records
    from artcnn.sources import IIIF_COLUMNS, classify_sources
    from artcnn.storage import load_model
    from artcnn.workspace import model_name, synthetic_warning

    if bool(args.metadata) != bool(args.key):
        raise ValueError(f"--metadata and --key go together (the records and the column to match them by). "
                         f"Received: metadata={args.metadata!r}, key={args.key!r}")
    if config.engine == "ray":
        from artcnn.ray_engine import connect

        connect(config.ray_address)  # before any work: Ray missing, or a cluster that does not answer
    model, metadata = load_model(Path(args.model), safe_mode=not args.unsafe)
    records = None
    if args.metadata:
        reserved = [*result_columns(metadata["classes"]), *(IIIF_COLUMNS if args.manifest else ())]
        records = read_records(args.metadata, args.key, reserved)
    fetch = FetchConfig(timeout=args.timeout, retries=args.retries, per_host=args.per_host, cache=args.cache)
    run = new_run(model_name(args.model, metadata), args.model, key=args.key)
    # The details columns classify_sources gives its results, known before it runs (to check a CSV to resume).
    details = list(IIIF_COLUMNS) if args.manifest else []
    details += [column for column in (records.columns if records else ()) if column not in details]
    done = finished_files(args.out, [*result_columns(metadata["classes"]), *details]) if args.resume else set()
    inputs = [str(path) for path in iter_image_files(args.inputs) if str(path) not in done] if done else args.inputs
    if done and not inputs and not args.manifest:
        print(f"every artwork is already in {args.out} ({len(done)} rows): nothing left to classify")
        return 0
    results: list = []
    workspace = _recording_workspace(args.workspace)
    with TerminalBar() as bar:
        stream = classify_sources((model, metadata), inputs, args.manifest, config, fetch=fetch,
                                  records=records, count_files=not args.no_count, progress=bar.update,
                                  catalogue=workspace.catalogue if workspace else None, model_name=run.model,
                                  source=f"command line: {', '.join(map(str, [*args.inputs, *args.manifest]))}")
        new = (result for result in stream if result.file not in done)
        try:
            rows = write_results_csv(_kept(new, results), Path(args.out), metadata["classes"], run.model,
                                     details=stream.columns, append=bool(done))
        except EngineFailed as error:
            print(f"error: {error}. The {len(results)} rows written so far are in {args.out}: run the same command "
                  f"with --resume to classify the rest.", file=sys.stderr)
            return 1
    errors = [result for result in results if result.error]
    for result in errors:
        print(f"skipped {result.file}: {result.error}", file=sys.stderr)
    resumed = f"; {len(done)} already in {args.out} were skipped" if done else ""
    print(f"{rows} artworks classified ({len(errors)} could not be read{resumed}); results in {args.out}")
    if workspace is not None:
        print(f"recorded in the catalogue of workspace {workspace.root} (the app's Classify page lists it)")
    if metadata.get("synthetic"):
        print(f"warning: {synthetic_warning(run.model)}", file=sys.stderr)
    if stream.match is not None:
        for line in stream.match.lines():
            print(line)
    if args.json:
        print(f"verdicts as JSON in {write_json(results, args.json, run)}")
    if args.annotations:
        pages = write_annotations(results, args.annotations, run)
        print(f"{len(pages)} IIIF annotation pages in {args.annotations}")
    return 0


def _recording_workspace(folder: Path | None):
    """The workspace whose catalogue records this classification: the one named, else the app's when it exists."""
    from artcnn.workspace import CATALOGUE_FILE, Workspace, root_from_env

    if folder is not None:
        return Workspace.open(folder)
    return Workspace.open(root_from_env()) if (root_from_env() / CATALOGUE_FILE).is_file() else None


def _kept(results, kept: list):
    """Pass results through, keeping each (without its tiles' boxes) for the reports after the run."""
    for result in results:
        kept.append(dataclasses.replace(result, tile_boxes=[]))
        yield result


def add_export_command(commands) -> None:
    from artcnn.export import TOLERANCE

    export = commands.add_parser(
        "export", help="write a model as a TensorFlow SavedModel and a TFLite file, checked against the original",
        description="Write OUT/saved_model, OUT/model.tflite and OUT/artcnn-export.json (tiling, classes). The "
                    "exports take uint8 RGB tiles and do artcnn's preprocessing themselves; they are kept only "
                    "if they score the same tiles as MODEL within the tolerance.")
    export.add_argument("model", help=".keras or .h5 model file")
    export.add_argument("out", help="new folder to write")
    export.add_argument("--check-images", nargs="+", default=[], metavar="IMAGE",
                        help="artworks whose tiles are scored in the check too (beside generated tiles)")
    export.add_argument("--tolerance", type=float, default=TOLERANCE,
                        help="largest accepted difference in any probability (default %(default)s)")
    export.add_argument("--unsafe", action="store_true", help="allow Lambda layers (only for models you trust)")
    export.set_defaults(handler=cmd_export)


def cmd_export(args: argparse.Namespace) -> int:
    from artcnn.export import export_model

    with TerminalBar() as bar:
        report = export_model(Path(args.model), Path(args.out), images=args.check_images, tolerance=args.tolerance,
                              safe_mode=not args.unsafe, progress=bar.update)
    print(f"SavedModel in {report.saved_model}, TFLite in {report.tflite}, tiling and classes in {report.metadata}")
    print(f"checked on {report.tiles} tiles: the largest difference from the original is {report.max_difference:.1e}")
    return 0
