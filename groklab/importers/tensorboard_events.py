"""TensorBoard event files, read with tensorboard's own EventAccumulator (the `import` extra).

A run is one folder of `events.out.tfevents.*` files (or one such file). Scalars logged as `simple_value`
(torch.utils.tensorboard, tensorboardX) and as scalar tensors (TF2 `tf.summary.scalar`) are read, each at the
global step it was logged with; the x axis is that step. Sub-folders that the torch writer makes for the same
run are read too: `add_scalars(main_tag, {key: v})` writes tag `main_tag` into `<main_tag with / as _>_<key>/`
(read back as `main_tag/key`), and `add_hparams` writes the hyper-parameters into a sub-folder (read into the
config, with `hparams.yaml` beside the events as Lightning's TensorBoardLogger writes it), and Keras's callback
writes `train/` and `validation/` sub-folders with the same tags (read back as `train/epoch_loss`, ...). Any
other sub-folder with event files is another run.

Every event file is first read through once with TensorBoard's record reader, whose CRC checks find a flipped bit
or a cut record (EventAccumulator itself stops at one without a word): a damaged file leaves the history's
extent unknown, so the import is refused. Values the accumulator does not return (its purge of the steps a
restarted run logged again) are counted and reported.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from groklab.errors import GroklabError
from groklab.importers import keys
from groklab.importers.files import read_mapping, require
from groklab.importers.record import Table, series_rows

EVENTS = "events.out.tfevents."


def is_event_file(path: Path) -> bool:
    return path.is_file() and path.name.startswith(EVENTS)


def has_events(folder: Path) -> bool:
    return any(is_event_file(p) for p in folder.iterdir())


def _split_folders(folder: Path) -> list[Path]:
    return [c for c in folder.iterdir() if c.is_dir() and c.name.lower() in keys.SPLITS and has_events(c)]


def is_run_folder(folder: Path) -> bool:
    """Event files in the folder itself, or in `train/` and `validation/` sub-folders (Keras's callback)."""
    return has_events(folder) or bool(_split_folders(folder))


def read(path: Path) -> Table:
    if path.is_file() and not is_event_file(path):
        raise GroklabError(f"{path}: not a TensorBoard event file (events.out.tfevents.*)")
    if path.is_dir() and not is_run_folder(path):
        raise GroklabError(f"{path}: no TensorBoard event files (events.out.tfevents.*) in it")
    series = _scalars(_accumulator(path)) if path.is_file() or has_events(path) else {}
    folder = path if path.is_dir() else path.parent
    hparams = read_mapping(folder / "hparams.yaml") if (folder / "hparams.yaml").is_file() else {}
    if path.is_dir():
        others = []
        for child in sorted(p for p in path.rglob("*") if p.is_dir() and has_events(p)):
            acc = _accumulator(child)
            found = _hparams(acc)
            if found is not None:
                hparams.update(found)
                continue
            sub = _scalars(acc)
            prefix = child.relative_to(path).as_posix()
            if prefix.lower() in keys.SPLITS:  # Keras: train/ and validation/ hold the same tags
                series.update({f"{prefix}/{tag}": points for tag, points in sub.items()})
                continue
            if not sub or not all(prefix.startswith(tag.replace("/", "_") + "_") for tag in sub):
                others.append(prefix)
                continue
            for tag, points in sub.items():
                series[f"{tag}/{prefix[len(tag.replace('/', '_')) + 1:]}"] = points
        if others:
            raise GroklabError(f"{path}: event files of other runs in {', '.join(others[:4])}; import each run's "
                               "folder as its own SRC")
    if not series:
        raise GroklabError(f"{path}: no scalars in the event files (empty, or not readable as TensorBoard events)")
    rows, origins = series_rows(series, path)
    return Table(rows=rows, hparams=hparams, origins=origins, warnings=_purged(path, series))


def _accumulator(path: Path) -> Any:
    ea = require("tensorboard.backend.event_processing.event_accumulator", "reading TensorBoard event files")
    for file in [path] if path.is_file() else sorted(p for p in path.iterdir() if is_event_file(p)):
        _check_records(file)
    acc = ea.EventAccumulator(str(path), size_guidance={ea.SCALARS: 0, ea.TENSORS: 0})  # 0: keep every point
    try:
        acc.Reload()
    except Exception as e:  # the reader's own errors (a truncated or corrupt record) have no common base
        raise GroklabError(f"{path}: cannot read the event file ({type(e).__name__}: {e})") from None
    return acc


def _check_records(file: Path) -> None:
    """Read every record of one event file with TensorBoard's own reader (the pure-Python one it ships), so that
    its CRC checks run over the whole file: a damaged or cut record is one line, and nothing is imported."""
    stub = require("tensorboard.compat.tensorflow_stub.pywrap_tensorflow", "reading TensorBoard event files")
    errors = require("tensorboard.compat.tensorflow_stub.errors", "reading TensorBoard event files")
    reader = stub.PyRecordReader_New(str(file))
    count = 0
    try:
        while True:
            try:
                reader.GetNext()
            except errors.OutOfRangeError:  # the clean end of the file
                return
            except (errors.DataLossError, MemoryError, OverflowError) as e:
                why = str(getattr(e, "message", "") or e or type(e).__name__).replace(str(file), "").strip()
                raise GroklabError(f"{file}: damaged after {count} good records ({why}), so how much of the "
                                   "history it held cannot be told; nothing imported (if the run is still "
                                   "writing it, import it when the run has stopped)") from None
            count += 1
    finally:
        reader.file_handle.close()


def _purged(path: Path, series: dict[str, list[tuple[int, float]]]) -> list[str]:
    """Warnings for scalar values in the files that EventAccumulator did not return (tag by tag)."""
    counts = _raw_counts(path)
    lost = {tag: counts[tag] - len(points) for tag, points in series.items()
            if counts.get(tag, 0) > len(points)}
    if not lost:
        return []
    listing = ", ".join(f"{tag} ({n})" for tag, n in sorted(lost.items())[:6])
    return [f"{path}: {sum(lost.values())} logged values not imported: TensorBoard's reader drops the steps a "
            f"restarted run logged again (its purge of orphaned data): {listing}"]


def _raw_counts(path: Path) -> dict[str, int]:
    """{tag: values logged} over the event files of `path` itself, straight from the records."""
    loader = require("tensorboard.backend.event_processing.event_file_loader", "reading TensorBoard event files")
    counts: dict[str, int] = {}
    for file in [path] if path.is_file() else sorted(p for p in path.iterdir() if is_event_file(p)):
        for event in loader.EventFileLoader(str(file)).Load():
            for value in event.summary.value:
                counts[value.tag] = counts.get(value.tag, 0) + 1
    return counts


def _scalars(acc: Any) -> dict[str, list[tuple[int, float]]]:
    """{tag: [(step, value), ...]} for the scalars of one folder's event files (or one file)."""
    tags = acc.Tags()
    series = {tag: [(int(e.step), float(e.value)) for e in acc.Scalars(tag)] for tag in tags["scalars"]}
    tensor_util = require("tensorboard.util.tensor_util", "reading TensorBoard event files")
    for tag in tags["tensors"]:
        if acc.SummaryMetadata(tag).plugin_data.plugin_name != "scalars":
            continue
        points = [(int(e.step), tensor_util.make_ndarray(e.tensor_proto)) for e in acc.Tensors(tag)]
        series[tag] = [(s, float(v)) for s, v in points if v.size == 1]
    return {tag: points for tag, points in series.items() if points}


def _hparams(acc: Any) -> dict[str, Any] | None:
    """The hyper-parameters `add_hparams` wrote into the accumulator's folder, or None if it holds none."""
    metadata = require("tensorboard.plugins.hparams.metadata", "reading TensorBoard hyper-parameters")
    json_format = require("google.protobuf.json_format", "reading TensorBoard hyper-parameters")
    try:
        contents = acc.PluginTagToContent(metadata.PLUGIN_NAME)
    except KeyError:  # no hparams plugin data in this folder
        return None
    found = None
    for content in contents.values():
        try:
            info = metadata.parse_session_start_info_plugin_data(content)
        except Exception:  # the experiment and session-end records of the same plugin are not start infos
            continue
        found = {**(found or {}), **{k: json_format.MessageToDict(v) for k, v in info.hparams.items()}}
    return found

