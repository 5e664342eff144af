"""Catchitt-style baseline, reimplemented: binned DNase and motif features, a logistic regression
on the features and their squares per condition, iterative training with hard negatives, and
noisy-OR smoothing of the bins' scores.

Catchitt (Keilwagen, Posch & Grau 2019, the ENCODE-DREAM challenge's winner) is a Java/Jstacs
program that cannot be installed offline; this module and its two helpers reimplement its
method on the data sets of this project, and its predictions files say so
(``method = "catchitt"``). The arithmetic on arrays (features, labels, classifier, noisy-OR) is
in :mod:`~.catchitt_features`, the training on a data set in :mod:`~.catchitt_training`; this
module holds the model folder and the prediction. What follows the original and what is
adapted:

**Bins.** An example of ``L`` bases is cut into ``L / bin`` bins (``options.bin``, default
50; it must divide ``L``). Labels of a bin: bound (1) when a base of it is in a conserved peak,
ambiguous (-1, left out of training) when it touches a relaxed peak only, unbound (0)
otherwise (``bin_targets``).

**Features** (``bin_features``), per bin, from the condition's cell-type DNase track
(``read_signal(cell, "DNase")``, z-scored) and the TF's motif channels (``read_motifs(tf)``):

- DNase: minimum and median over the bin; minimum and maximum over the :data:`CONTEXT` (1 kb)
  before the bin and over the 1 kb after it; the number of steps (changes of value between
  neighbouring bases) in the bin, and of the steps up and the steps down. The data set holds
  nothing outside an example, so the context is cut at the example's edges: what the example
  holds of it is used (the context is counted in whole bins, ``CONTEXT // bin`` of them), and a
  bin with no context on a side (the first or last bin) gets 0 there, the z-scored average.
- Motif: the maximum motif score over the bin and the log of the mean of exp(score). The
  score of a base is the larger of the two strands' channels (the original scans both strands
  and keeps the best hit).

The features of the ``options.neighbours`` (default 2) bins on each side are appended, bins
``j-2 .. j+2`` in order (``stack_neighbours``); bins past the example's edges are zeros.

**Classifier** (``fit_classifier``). The original's discriminatively trained
independent-Gaussian model per class has log-odds quadratic in each feature, so it is a
logistic regression on ``[z, z^2]`` of the standardised features ``z``; here scikit-learn's
``LogisticRegression`` (L2, ``C = 1``, lbfgs) fits it. The saved model holds only numpy arrays
(standardisation, coefficients, intercepts): prediction needs no scikit-learn.

**Training** (:func:`train_condition`): one model per training condition (a TF in a cell
type, as the original and the thesis did), on the training split's bins. Round 1 takes every
bound bin and ``options.negatives`` (default 2) unbound bins per bound bin, half drawn
uniformly and half matched to the bound bins' DNase levels (drawn per twentile of the bins'
mean DNase, as many from each as the bound bins have there). Each of the further
``options.rounds - 1`` (default 5 rounds in all) rounds adds the unbound bins that the previous
round's classifier scores highest, among those not yet trained on (as many as round 1 drew
uniformly), and trains a new classifier on the larger set. Draws are seeded from ``spec.seed``
and the condition's name, so a condition's model does not depend on the others.

**Bounded cost.** The training split is streamed block by block (:data:`BLOCK_EXAMPLES`
examples); what is held across blocks is a label (int8), a mean DNase level (float32) and a
flag (bool) per bin, and the features of the bins trained on. Those are capped: at most
``budget.steps * budget.batch_size`` bins are in the last round's training set (bound bins
are subsampled to fit; no cap when ``budget.steps`` is None, the paper's budget), so the demo
budgets keep the baseline fast. ``budget.valid_examples`` caps the validation examples; the
other budget keys, ``sizes``, ``embeddings`` and ``sample_count`` do not apply to this baseline.

**Prediction** (:func:`condition_scores`). A bin's score is the noisy-OR ``1 - prod(1 - p)``
of its classifier's probabilities over bins ``j-1 .. j+4`` (``noisy_or``; bins past the edges
contribute nothing), averaged over the rounds' classifiers; a trained condition uses its own
models (supervised), another cell type of a trained TF the mean over the TF's trained cell
types' models, applied to the cell type's own DNase ("Average Train", the paper's transfer;
:func:`default_cells`, or any cell types through ``cells``). Each base carries its bin's score
(the paper scored Catchitt at 1 bp so), and the predictions file records ``bin_width`` so that
the evaluation reports no finer resolution.

Outputs of :func:`train_registry_model`: ``model.pt`` (``torch.save`` of a dict: ``kind``,
``bin``, the feature settings and, per condition, the rounds' ``mean`` and ``scale`` float64
(R, F), ``coef`` float64 (R, 2F) and ``intercept`` float64 (R,)); ``log.tsv`` beside it (a row
per condition and round: training positives and negatives, training auPRC of the round's
classifier on its training bins, validation auPRC at 1 bp of the rounds' mean so far);
``spec.yaml``; and ``parts/{condition}.pt``, one per finished condition, so that a killed job
keeps what it finished.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm import tqdm

from nettime.baselines.catchitt_features import (
    CONTEXT,
    FEATURE_NAMES,
    NOISY_OR,
    average_scores,
    check_bin_width,
    classifier_arrays,
    classifiers_of,
)
from nettime.baselines.catchitt_training import (
    BLOCK_EXAMPLES,
    Settings,
    block_features,
    check_inputs,
    train_condition,
    validate_condition,
)
from nettime.baselines.common import (
    BaselineError,
    job_training,
    refuse_init,
    refuse_variant,
    say,
    spec_from_params,
    write_spec_record,
)
from nettime.config import split_condition
from nettime.data.dataset import DataSet, FeatureSet, input_files, open_dataset
from nettime.data.predictions import PredictionsWriter
from nettime.files import atomic_output, write_text
from nettime.models.registry import ModelSpec
from nettime.models.training import data_identity

#: The name recorded as the predictions file's ``method`` and the checkpoint's ``kind``.
METHOD = "catchitt"
#: The data set tracks a classifier reads besides the labels: DNase and the TF's motif channels.
INPUTS = FeatureSet("Catchitt-style", ("DNase",), True)
#: Columns of log.tsv.
LOG_COLUMNS = ("condition", "round", "positives", "negatives", "hard_negatives_added",
               "train_auprc", "valid_auprc")


# ---- the model folder ------------------------------------------------------------------------


def _data_identity(path: str | Path | None, conditions: list[str]) -> dict[str, Any] | None:
    """Size and modification time of the data set files the conditions' classifiers read
    (examples, labels, DNase, motif channels): a rebuilt file makes a new run, as it makes
    Snakemake rerun the job; files of other conditions do not matter."""
    if path is None:
        return None
    return data_identity(input_files(path, conditions, INPUTS))


def _torch_save(obj: Any, path: Path) -> None:
    import torch

    with atomic_output(path) as tmp:
        torch.save(obj, tmp)


def load_model(model_path: str | Path) -> dict[str, Any]:
    """A saved Catchitt-style model (the dict described in the module docstring)."""
    import torch

    saved = torch.load(model_path, map_location="cpu", weights_only=False)
    if not isinstance(saved, dict) or saved.get("kind") != METHOD:
        raise BaselineError(f"{model_path}: not a Catchitt-style model (kind "
                            f"{saved.get('kind') if isinstance(saved, dict) else None!r})")
    return saved


def _write_log(path: Path, rows: Sequence[Mapping[str, Any]]) -> None:
    frame = pd.DataFrame(list(rows), columns=list(LOG_COLUMNS))
    write_text(path, frame.to_csv(sep="\t", index=False, na_rep="nan"))


def train_catchitt(spec: ModelSpec, train_path: str | Path, valid_path: str | Path | None,
                   out_dir: str | Path, progress: bool = True) -> dict[str, Any]:
    """Train (or resume, or find finished) a Catchitt-style model of a registry spec.

    Parameters
    ----------
    spec
        The resolved spec; ``conditions`` are trained one by one, ``options`` and ``budget``
        give the settings (:class:`Settings`).
    train_path, valid_path
        ``results/data/train.h5`` and ``results/data/valid.h5`` (or None: no validation).
    out_dir
        ``results/models/{model}``: receives model.pt, log.tsv and parts/.

    Returns
    -------
    dict
        The saved model (see :func:`load_model`).
    """
    settings = Settings.from_spec(spec)
    out_dir = Path(out_dir)
    model_path, parts_dir = out_dir / "model.pt", out_dir / "parts"
    names = list(spec.conditions)
    record = {"settings": settings.to_dict(), "train": _data_identity(train_path, names),
              "valid": _data_identity(valid_path, names), "conditions": names}
    if model_path.exists():
        saved = load_model(model_path)
        if saved.get("record") == record:
            say(f"{model_path}: this model is trained ({len(spec.conditions)} condition(s)); "
                "nothing to do")
            if not (out_dir / "log.tsv").exists():
                _write_log(out_dir / "log.tsv", saved["log"])
            return saved
        say(f"{model_path}: made with other settings or data; training afresh")
    conditions: dict[str, dict[str, np.ndarray]] = {}
    rows: list[dict[str, Any]] = []
    with open_dataset(train_path) as train:
        valid = open_dataset(valid_path) if valid_path is not None else None
        try:
            for condition in spec.conditions:
                part_path = parts_dir / f"{condition}.pt"
                # A part depends on the settings and its own condition's data only, so a spec
                # that gains a condition keeps the parts of the others.
                part_record = {"settings": settings.to_dict(),
                               "train": _data_identity(train_path, [condition]),
                               "valid": _data_identity(valid_path, [condition])}
                part = _load_part(part_path, part_record, condition)
                if part is None:
                    classifiers, part_rows = train_condition(train, condition, settings,
                                                             progress)
                    if valid is not None:
                        scores = validate_condition(valid, condition, classifiers, settings,
                                                    progress)
                        for row, score in zip(part_rows, scores, strict=True):
                            row["valid_auprc"] = score
                    part = {"record": part_record, "condition": condition,
                            "arrays": classifier_arrays(classifiers), "rows": part_rows}
                    _torch_save(part, part_path)
                else:
                    say(f"{part_path}: condition {condition} already trained; kept")
                conditions[condition] = part["arrays"]
                rows += part["rows"]
                _write_log(out_dir / "log.tsv", rows)
        finally:
            if valid is not None:
                valid.close()
    saved = {"kind": METHOD, "method": METHOD, "bin": settings.bin,
             "neighbours": settings.neighbours, "context": CONTEXT,
             "noisy_or": list(NOISY_OR), "features": list(FEATURE_NAMES),
             "conditions": conditions, "log": rows, "record": record, "spec": spec.to_dict()}
    _torch_save(saved, model_path)
    return saved


def _load_part(path: Path, record: Mapping[str, Any], condition: str) -> dict[str, Any] | None:
    """A finished condition's part when it belongs to this run, else None."""
    if not path.exists():
        return None
    import torch

    part = torch.load(path, map_location="cpu", weights_only=False)
    if part.get("record") != record or part.get("condition") != condition:
        say(f"{path}: made with other settings or data; training {condition} afresh")
        return None
    return part


def summary(saved: Mapping[str, Any]) -> dict[str, Any]:
    """The training summary that spec.yaml records: per condition, the last round's training
    set and the validation auPRC of the rounds' mean (None without validation)."""
    last = {row["condition"]: row for row in saved["log"]}
    valid = [float(row["valid_auprc"]) for row in last.values()]
    known = [v for v in valid if not math.isnan(v)]
    return {"method": METHOD, "bin": int(saved["bin"]),
            "rounds": max((int(row["round"]) for row in saved["log"]), default=0),
            "conditions": {c: {"positives": int(row["positives"]),
                               "negatives": int(row["negatives"]),
                               "train_auprc": float(row["train_auprc"]),
                               "valid_auprc": _number(row["valid_auprc"])}
                           for c, row in last.items()},
            "mean_valid_auprc": float(np.mean(known)) if known else None}


def _number(value: float) -> float | None:
    """A float for YAML, None for NaN (no validation)."""
    return None if math.isnan(float(value)) else float(value)


def train_registry_model(params: Mapping[str, Any], config: Mapping[str, Any],
                         train_path: str | Path, valid_path: str | Path | None,
                         init_path: str | Path | None, model_out: str | Path,
                         spec_out: str | Path, threads: int | None = None,
                         progress: bool = True) -> dict[str, Any]:
    """What the ``train_model`` rule runs for a ``kind: catchitt`` spec: :func:`train_catchitt`
    into the folder of ``model_out``, then the spec, vocabularies and training summary as YAML.

    Parameters
    ----------
    params
        ``{"spec": ModelSpec.to_dict() without "predict", "tf_vocab": [...], "cell_vocab":
        [...]}``.
    config
        The project configuration (``training.threads`` is read).
    init_path
        Must be None: the baseline is not fine-tuned.
    threads
        Threads of the numerical libraries (the job's), over ``training.threads``.

    Returns
    -------
    dict
        :func:`summary` of the model.
    """
    from threadpoolctl import threadpool_limits

    refuse_init(init_path, METHOD)
    spec = spec_from_params(params)
    threads = job_training(config, threads).get("threads")
    with threadpool_limits(limits=int(threads) if threads else None):
        saved = train_catchitt(spec, train_path, valid_path, Path(model_out).parent, progress)
    result = summary(saved)
    write_spec_record(spec_out, params, result)
    return result


# ---- prediction ------------------------------------------------------------------------------


def default_cells(saved: Mapping[str, Any], condition: str) -> list[str]:
    """The cell types whose models score a condition: its own when it was trained
    (supervised), else every trained cell type of its TF (Average Train).

    Raises
    ------
    nettime.baselines.common.BaselineError
        When the model trained no condition of the TF.
    """
    tf, cell = split_condition(condition)
    if condition in saved["conditions"]:
        return [cell]
    cells = [split_condition(c)[1] for c in saved["conditions"] if split_condition(c)[0] == tf]
    if not cells:
        raise BaselineError(f"the Catchitt-style model trained no condition of TF {tf!r} "
                            f"(trained: {', '.join(saved['conditions'])}); cannot score "
                            f"{condition}")
    return cells


def _cells(saved: Mapping[str, Any], condition: str,
           cells: Sequence[str] | None) -> list[str]:
    """``cells``, checked against the trained conditions, or :func:`default_cells`."""
    if cells is None:
        return default_cells(saved, condition)
    tf = split_condition(condition)[0]
    missing = [r for r in cells if f"{tf}.{r}" not in saved["conditions"]]
    if missing or not cells:
        raise BaselineError(f"the Catchitt-style model has no trained condition "
                            f"{', '.join(f'{tf}.{r}' for r in missing) or f'of TF {tf}'} to "
                            f"score {condition} with (trained: {', '.join(saved['conditions'])})")
    return list(cells)


def condition_scores(saved: Mapping[str, Any], data: DataSet, condition: str,
                     cells: Sequence[str] | None = None, start: int = 0,
                     stop: int | None = None) -> np.ndarray:
    """Bin scores of a condition ``p.q`` on examples [start, stop) of a data set.

    Parameters
    ----------
    saved
        The model (:func:`load_model`).
    data
        A data set holding q's DNase and p's motif channels.
    condition
        ``TF.cell`` to score.
    cells
        Trained cell types r whose models ``p.r`` are averaged (applied to q's features);
        None: :func:`default_cells`.

    Returns
    -------
    numpy.ndarray
        float64 (m, L / bin) bin scores in [0, 1].
    """
    tf, cell = split_condition(condition)
    cells = _cells(saved, condition, cells)
    stop = data.n_examples if stop is None else stop
    feats = block_features(data, tf, cell, start, stop, int(saved["bin"]),
                            int(saved["neighbours"]))
    return average_scores([[c.predict_proba(feats)
                            for c in classifiers_of(saved["conditions"][f"{tf}.{r}"])]
                           for r in cells])


def predict_split(model_path: str | Path, data_path: str | Path, out_path: str | Path,
                  conditions: Sequence[str], model_name: str, split: str,
                  cells: Mapping[str, Sequence[str]] | None = None,
                  progress: bool = True) -> None:
    """Write the predictions file of ``conditions`` on a split's data set.

    Parameters
    ----------
    model_path
        ``results/models/{model}/model.pt`` of a Catchitt-style model.
    data_path
        ``results/data/{split}.h5``.
    out_path
        ``results/predictions/{model}/{split}.h5`` (written atomically): ``prob/{condition}``
        float16 (n, L), each base its bin's score; ``method = "catchitt"``,
        ``bin_width = bin``.
    conditions
        ``TF.cell`` names; each TF must have been trained in some cell type.
    cells
        Condition -> trained cell types to average over (a transfer experiment's choice);
        conditions not named here use :func:`default_cells`.
    """
    saved = load_model(model_path)
    width = int(saved["bin"])
    cells = dict(cells or {})
    with open_dataset(data_path) as data:
        check_bin_width(data.length, width, f"{data_path}: ")
        chosen = {}
        for condition in conditions:
            tf, cell = split_condition(condition)
            chosen[condition] = _cells(saved, condition, cells.get(condition))
            check_inputs(data, tf, cell)
        bar = tqdm(total=data.n_examples * len(conditions), desc=f"predict {model_name} {split}",
                   unit="ex", file=sys.stderr, disable=not progress, dynamic_ncols=True)
        with PredictionsWriter(out_path, data.n_examples, data.length, model_name, split,
                               conditions, method=METHOD, bin_width=width) as writer:
            for condition in conditions:
                out = writer.create(condition)
                for start in range(0, data.n_examples, BLOCK_EXAMPLES):
                    stop = min(start + BLOCK_EXAMPLES, data.n_examples)
                    scores = condition_scores(saved, data, condition, chosen[condition], start,
                                              stop)
                    out[start:stop] = np.repeat(scores, width, axis=1).astype(np.float16)
                    bar.update(stop - start)
        bar.close()


def predict_with_settings(model_path: str | Path, data_path: str | Path, out_path: str | Path,
                          conditions: Sequence[str], model_name: str, split: str,
                          config: Mapping[str, Any], variant: str | None = None,
                          threads: int | None = None, progress: bool = True) -> None:
    """What the ``predict`` rule runs for a Catchitt-style model: :func:`predict_split` with
    ``threads`` (the job's) over ``training.threads``. Prediction variants (random embeddings)
    do not apply to this baseline."""
    from threadpoolctl import threadpool_limits

    refuse_variant(variant, METHOD)
    threads = job_training(config, threads).get("threads")
    with threadpool_limits(limits=int(threads) if threads else None):
        predict_split(model_path, data_path, out_path, conditions, model_name, split,
                      progress=progress)
