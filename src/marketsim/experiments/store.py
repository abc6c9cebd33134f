"""The result store: each finished run is on disk the moment it completes.

Layout of an output directory:

    manifest.json           experiment digest, marketsim version, defaults digest, seeds, job count
    runs/part-<job>.parquet one row per finished run: design columns and outcomes
    series/part-<job>.parquet  daily key metrics of that run (when kept)
    failures/job-<job>.json the error and parameters of a run that raised
    results.parquet         all runs in job order, written when the sweep completes

A part is written to a temporary name and renamed into place, so a run is either
fully on disk or not at all, however the process ends. Re-running the same
command skips the jobs whose parts exist and retries failures.

One command writes to a store at a time: `open` takes a lock on `.lock` in the
folder (flock, which the kernel drops when the process dies, so a `kill -9`
never leaves a stale lock) and a second writer is refused.
"""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from marketsim import MODEL_REVISION, __version__
from marketsim.experiments.jobs import JobResult
from marketsim.scenario import defaults_digest


class StoreError(Exception):
    pass


class ResultStore:
    def __init__(self, root: Path):
        self.root = Path(root)
        self.runs = self.root / "runs"
        self.series = self.root / "series"
        self.failures = self.root / "failures"
        self._lock: Any = None  # the open .lock file while this store is being written

    # ---------------------------------------------------------------- manifest
    def open(self, manifest: dict[str, Any], overwrite: bool = False) -> None:
        """Lock the store, then create it or check that it holds the same experiment."""
        try:
            self._take_lock()
            self._open(manifest, overwrite)
        except OSError as exc:
            self.close()
            raise StoreError(f"{self.root}: cannot write results there: {_reason(exc)}") from None
        except StoreError:
            self.close()
            raise

    def __enter__(self) -> ResultStore:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release the lock (the kernel also releases it if the process dies)."""
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    def _take_lock(self) -> None:
        check_folder(self.root)
        self.root.mkdir(parents=True, exist_ok=True)
        lock = open(self.root / ".lock", "a+")  # noqa: SIM115 (held open while writing)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.seek(0)
            holder = lock.read().strip() or "another process"
            lock.close()
            raise StoreError(
                f"{self.root}: another marketsim command ({holder}) is writing results here; "
                "wait for it to finish, or use another --out"
            ) from None
        lock.truncate(0)
        lock.write(f"pid {os.getpid()}\n")
        lock.flush()
        self._lock = lock

    def _open(self, manifest: dict[str, Any], overwrite: bool) -> None:
        path = self.root / "manifest.json"
        manifest = {
            **manifest,
            "marketsim_version": __version__,
            "model_revision": MODEL_REVISION,
            "defaults": defaults_digest(),
        }
        if path.exists() and not overwrite:
            raw = path.read_bytes()
            try:
                old = json.loads(raw.decode("utf-8"))
            except ValueError:  # not JSON, or not UTF-8
                old = None
            if not isinstance(old, dict) or not isinstance(old.get("digest"), str):
                if isinstance(old, dict):
                    field, value = "manifest.json: digest", repr(old.get("digest"))
                else:
                    text = raw[:80].decode("utf-8", "replace")
                    field, value = "manifest.json", repr(text[:40] + ("..." if raw[40:] else ""))
                raise StoreError(
                    f"{self.root}: {field}: bad value {value[:60]}: not a marketsim manifest "
                    "(allowed: one marketsim wrote, with a digest string); use another --out, "
                    "or --overwrite to discard what is there"
                )
            if old.get("digest") != manifest["digest"]:
                raise StoreError(f"{self.root}: {_what_differs(old, manifest)}")
            was, now = old.get("rasters") or {}, manifest.get("rasters") or {}
            changed = sorted(set(was.items()) ^ set(now.items()))
            if changed:
                raise StoreError(
                    f"{self.root}: holds results made from another version of the raster "
                    f"{changed[0][0]} (it changed since); use another --out, or --overwrite "
                    "to discard them"
                )
            if old.get("marketsim_version") != __version__:
                raise StoreError(
                    f"{self.root}: results were made by marketsim {old.get('marketsim_version')}, "
                    f"this is {__version__}; use another --out, or --overwrite"
                )
            if old.get("model_revision") != MODEL_REVISION:
                made = old.get("model_revision")
                made = f"model revision {made}" if made else "an earlier model revision"
                raise StoreError(
                    f"{self.root}: results were made by {made}, this is model revision "
                    f"{MODEL_REVISION} (the model's behaviour changed since); use another "
                    "--out, or --overwrite"
                )
            if old.get("defaults") != manifest["defaults"]:
                raise StoreError(
                    f"{self.root}: results were made under other parameter defaults "
                    f"(defaults digest {old.get('defaults')}, now {manifest['defaults']}); "
                    "use another --out, or --overwrite"
                )
        elif overwrite:  # with or without a manifest, what marketsim wrote there goes
            for folder, pattern in (
                (self.runs, "part-*.parquet"),
                (self.series, "part-*.parquet"),
                (self.failures, "job-*.json"),
            ):
                for f in folder.glob(pattern):  # (not a file of the user's own)
                    f.unlink()
            (self.root / "results.parquet").unlink(missing_ok=True)
        elif (self.root / "results.parquet").exists() or any(self.runs.glob("part-*.parquet")):
            raise StoreError(
                f"{self.root}: holds runs but no manifest.json, which says what they are "
                "runs of; use another --out, or --overwrite to discard them"
            )
        for folder in (self.runs, self.series, self.failures):
            folder.mkdir(parents=True, exist_ok=True)
        _atomic_write(path, (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode())

    def manifest(self) -> dict[str, Any]:
        return json.loads((self.root / "manifest.json").read_text())

    # -------------------------------------------------------------------- runs
    def done(self) -> set[int]:
        return set(_numbered(self.runs, "part-*.parquet"))

    def done_series(self) -> set[int]:
        """The jobs whose time series are on disk (written before the run's row)."""
        return set(_numbered(self.series, "part-*.parquet"))

    def failed(self) -> dict[int, dict[str, Any]]:
        out = {}
        for job, p in _numbered(self.failures, "job-*.json").items():
            try:
                record = json.loads(p.read_text())
            except (OSError, ValueError):  # unreadable, not JSON, not UTF-8
                record = None
            if not isinstance(record, dict) or not isinstance(record.get("error"), str):
                raise StoreError(
                    f"{p}: cannot read it (not a failed run's record marketsim wrote, or "
                    "damaged); delete it and run the same command again to retry that run"
                )
            out[job] = {"label": "?", "seed": "?", **record}
        return out

    def write(self, result: JobResult) -> None:
        job = result.job
        if result.error is not None:
            record = {
                "job": job.id,
                "label": job.label,
                "replicate": job.replicate,
                "seed": job.seed,
                "params": job.params,
                "error": result.error,
            }
            _atomic_write(
                self.failures / f"job-{job.id:06d}.json",
                json.dumps(record, indent=2, default=str).encode(),
            )
            return
        if result.series is not None:
            frame = result.series.copy()
            frame.insert(0, "job", job.id)
            _write_parquet(frame, self.series / f"part-{job.id:06d}.parquet")
        row = {
            "job": job.id,
            "label": job.label,
            "point": job.point,
            "replicate": job.replicate,
            "seed": job.seed,
            **{f"param:{k}": _scalar(v) for k, v in job.params.items()},
            **result.outcomes,
        }
        _write_parquet(pd.DataFrame([row]), self.runs / f"part-{job.id:06d}.parquet")
        (self.failures / f"job-{job.id:06d}.json").unlink(missing_ok=True)

    # ------------------------------------------------------------------- read
    def load(self) -> pd.DataFrame:
        """Every finished run of the experiment as last asked for, one row each, in job order."""
        final = self.root / "results.parquet"
        frame = _read_part(final) if final.exists() else None
        return self._asked_for(self._gather(self.runs) if frame is None else frame)

    def load_series(self) -> pd.DataFrame:
        return self._asked_for(self._gather(self.series))

    def _asked_for(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The runs of the jobs last asked for: a comparison asked for fewer seeds than its
        store holds reports on the first ones (jobs are numbered replicate by replicate)."""
        has_manifest = (self.root / "manifest.json").exists()
        n_jobs = self.manifest().get("n_jobs") if has_manifest else None
        if n_jobs is None or frame.empty:
            return frame
        return frame[frame.job < n_jobs].reset_index(drop=True)

    def consolidate(self) -> Path:
        """Write results.parquet: all runs in job order (identical whatever order they finished).

        A results.parquet that already holds every finished run is kept: re-running a
        finished experiment (to redraw its report, say) need not re-read thousands of parts.
        """
        path = self.root / "results.parquet"
        held = _read_part(path, columns=["job"]) if path.exists() else None
        if held is not None and set(held.job) == self.done():  # (an unreadable one is redone)
            return path
        _write_parquet(self._gather(self.runs), path)
        return path

    @staticmethod
    def _gather(folder: Path) -> pd.DataFrame:
        parts = [p for _, p in sorted(_numbered(folder, "part-*.parquet").items())]
        if not parts:
            return pd.DataFrame()
        frames = []
        for p in parts:
            frame = _read_part(p)
            if frame is None:
                raise StoreError(
                    f"{p}: cannot read it (not a run marketsim wrote, or damaged); delete it "
                    "and run the same command again to redo that run"
                )
            frames.append(frame)
        frame = pd.concat(frames, ignore_index=True)
        return frame.sort_values(
            ["job", "step", "region"] if "step" in frame else ["job"], kind="stable"
        ).reset_index(drop=True)


def _numbered(folder: Path, pattern: str) -> dict[int, Path]:
    """The files in `folder` named by `pattern` ("part-*.parquet"), by the job number in
    the star's place; a file so named without a number there is not one marketsim wrote."""
    prefix, suffix = pattern.split("*")
    found = {}
    for p in folder.glob(pattern):
        number = p.name[len(prefix) : len(p.name) - len(suffix)]
        if not (number.isascii() and number.isdigit()):
            raise StoreError(
                f"{p}: not a file marketsim wrote (allowed there: {prefix}<job number>"
                f"{suffix}); move it out of the results folder, or delete it"
            )
        found[int(number)] = p
    return found


def _read_part(path: Path, columns: list[str] | None = None) -> pd.DataFrame | None:
    """A parquet file of the store, or None if it cannot be read (damaged, or not one)."""
    try:
        return pd.read_parquet(path, columns=columns)
    except (OSError, ValueError, pa.ArrowException):
        return None


def check_folder(root: Path) -> None:
    """`--out` is a folder or can become one: not a file, nor under one, and named in
    UTF-8 (Arrow, which writes the runs, takes no other name)."""
    try:
        str(root).encode("utf-8")
    except UnicodeEncodeError:  # a byte that is not UTF-8, kept by Python as a surrogate
        raise StoreError(
            f"--out: bad value {str(root)!r}: not UTF-8 (allowed: a folder whose path is "
            "UTF-8 text)"
        ) from None
    if root.exists() and not root.is_dir():
        raise StoreError(f"--out: bad value {str(root)!r}: is a file (allowed: a folder)")
    blocker = next((p for p in root.parents if p.exists() and not p.is_dir()), None)
    if blocker is not None:
        raise StoreError(
            f"--out: bad value {str(root)!r}: {str(blocker)!r} is a file (allowed: a folder)"
        )


def _reason(exc: OSError) -> str:
    """An OSError as a short reason: the message without the errno or repeated path."""
    return exc.strerror or str(exc)


def _scalar(value: Any) -> Any:
    """Parquet columns hold scalars; a mapping or list value is kept as its JSON text."""
    if isinstance(value, bool | int | float | str) or value is None:
        return value
    return json.dumps(value, sort_keys=True)


def _write_parquet(frame: pd.DataFrame, path: Path) -> None:
    table = pa.Table.from_pandas(frame, preserve_index=False)
    tmp = path.with_name(f".{path.name}.tmp")
    pq.write_table(table, tmp)
    os.replace(tmp, path)


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _what_differs(old: dict[str, Any], new: dict[str, Any]) -> str:
    """Why a store's results are not this command's: the setting the user gave that
    differs (`compare --set steps=5` on a store made without it), else the digests."""
    for key, shown in (("kind", "command"), ("files", "files"), ("overrides", "--set")):
        if key in old and key in new and old[key] != new[key]:
            was, now = (
                " ".join(map(str, v)) or "none" if isinstance(v, list) else v
                for v in (old[key], new[key])
            )
            return (
                f"holds results made with {shown} {was}, not {now} as now; use another "
                "--out, or --overwrite to discard them"
            )
    return (
        f"holds results of a different experiment ({old.get('name')!r}, digest "
        f"{old.get('digest')}); use another --out, or --overwrite to discard them"
    )
