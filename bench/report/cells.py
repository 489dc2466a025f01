"""What every table cell and header shares: measured proportions with their Clopper-Pearson interval, the
``paper / reproduced`` cell, footnote marks, collapsed-model checks, and the words for what was run.

A difference to the paper is printed only where the cell ran the paper's dataset and model; at a stand-in
scale the two numbers measure different things, so the cell shows both and no difference.
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from scipy.stats import beta

from bench.protocols import METHOD_NAMES, split_variant
from bench.reference import quoted_row

CONFIDENCE = 0.95
NOT_CERTIFIABLE = "—"  # a reproduced cell that is zero by construction (see the table's footnote)
COLLAPSED = "collapsed"


@dataclass(frozen=True)
class Measured:
    """A proportion measured on a finite test subset: ``successes`` of ``trials`` points."""
    successes: int
    trials: int

    @classmethod
    def of(cls, hits: pd.Series) -> "Measured":
        return cls(int(hits.astype(bool).sum()), len(hits))

    @property
    def value(self) -> float:
        return self.successes / self.trials

    def interval(self, confidence: float = CONFIDENCE) -> tuple[float, float]:
        """Two-sided exact (Clopper-Pearson) interval for the proportion over the test points used."""
        tail, k, n = (1 - confidence) / 2, self.successes, self.trials
        low = 0.0 if k == 0 else float(beta.ppf(tail, k, n - k + 1))
        high = 1.0 if k == n else float(beta.ppf(1 - tail, k + 1, n - k))
        return low, high

    def complement(self) -> "Measured":
        return Measured(self.trials - self.successes, self.trials)


def as_shown(measured: Measured, metric: str) -> tuple[float, float, float]:
    """(value, low, high) in the table's unit: accuracy as a fraction ("accuracy"), accuracy in percent
    ("accuracy_percent", as the thesis prints its l2 tables) or error in percent ("error")."""
    shown = measured.complement() if metric == "error" else measured
    scale = 1.0 if metric == "accuracy" else 100.0
    low, high = shown.interval()
    return scale * shown.value, scale * low, scale * high


def format_cell(paper: float | None, measured: Measured | float | str | None, metric: str = "accuracy",
                comparable: bool = False, missing: str = "not run yet") -> str:
    """``paper / reproduced [95% interval] (reproduced - paper)``; the interval for a measured proportion, the
    difference only when ``comparable``. ``measured`` may be a plain number (a loss), or a marker string
    (``NOT_CERTIFIABLE``, ``COLLAPSED``) shown as is; ``missing`` where nothing was measured."""
    paper_text = "n/a" if paper is None else f"{paper:.2f}"
    if measured is None:
        return f"{paper_text} / {missing}"
    if isinstance(measured, str):
        return f"{paper_text} / {measured}"
    if isinstance(measured, Measured):
        value, low, high = as_shown(measured, metric)
        digits = 2 if metric == "accuracy" else 1
        text = f"{paper_text} / {value:.2f} [{low:.{digits}f}, {high:.{digits}f}]"
    else:
        value, text = measured, f"{paper_text} / {measured:.2f}"
    if comparable and paper is not None:
        text += f" ({value - paper:+.2f})"
    return text


def collapse_reason(predict: pd.Series, correct: pd.Series, num_classes: int, abstain: int = -1) -> str | None:
    """Why a model's results say nothing about its method (a clause: "it predicts ..."), or None: it predicts
    one class for almost every
    point (>= 95% of its answers), or its clean accuracy is not above chance (one-sided 95% Clopper-Pearson
    lower bound <= 1 / classes)."""
    answers = predict[predict != abstain]
    if len(answers) and answers.value_counts().iloc[0] >= 0.95 * len(answers):
        top = answers.value_counts()
        return f"it predicts class {top.index[0]} for {top.iloc[0]} of {len(answers)} points"
    accuracy = Measured.of(correct)
    low = 0.0 if accuracy.successes == 0 else float(beta.ppf(0.05, accuracy.successes,
                                                             accuracy.trials - accuracy.successes + 1))
    if low <= 1 / num_classes:
        return f"its clean accuracy {accuracy.value:.2f} is not above chance ({1 / num_classes:.2f})"
    return None


def missing_text(method: str, block: dict | None = None) -> str:
    """What a cell nothing was measured for says: "not run yet" for a row this suite can train (a registered
    method or a variant of one) in a block it runs, "not run here" for a row the paper only quotes."""
    quoted = block is not None and quoted_row(block, method)
    return "not run yet" if split_variant(method)[0] in METHOD_NAMES and not quoted else "not run here"


def ran(paper_name: str, used_name: str) -> str:
    """``cifar10 → digits_rgb8`` where a stand-in replaced the paper's dataset or model, else the name."""
    return paper_name if used_name == paper_name else f"{paper_name} → {used_name}"


def describe_training(settings: dict) -> str:
    """One line of the training protocol a model was trained with (from its ``model.pt`` metadata)."""
    optimizer = settings.get("optimizer", "sgd")
    parts = [f"{settings['epochs']} epochs, batch {settings['batch_size']}",
             f"{'Adam' if optimizer == 'adam' else 'SGD'} lr {settings['lr']:g}"
             + (f" (momentum {settings['momentum']:g})" if optimizer == "sgd" else "")
             + (f", weight decay {settings['weight_decay']:g}" if settings["weight_decay"] else "")]
    if settings.get("lr_schedule") == "cosine":
        parts.append("cosine lr schedule")
    elif settings.get("lr_milestones"):
        parts.append(f"lr x{settings['lr_gamma']:g} at epochs {', '.join(map(str, settings['lr_milestones']))}")
    elif settings["lr_step_epochs"] < settings["epochs"]:
        parts.append(f"lr x{settings['lr_gamma']:g} every {settings['lr_step_epochs']} epochs")
    if settings.get("warmup_epochs") or settings.get("rampup_epochs"):
        parts.append(f"eps warm-up {settings.get('warmup_epochs', 0)} + ramp-up {settings.get('rampup_epochs', 0)} "
                     "epochs")
    if settings.get("augment") not in (None, False, "none"):
        parts.append(f"augmentation {settings['augment']}")
    if settings.get("normalize") is False:
        parts.append("inputs not normalised")
    if settings.get("grad_clip"):
        parts.append(f"gradient norm clipped at {settings['grad_clip']:g}")
    if settings.get("options"):
        parts.append("method options " + ", ".join(f"{key} {value:g}" if isinstance(value, (int, float))
                                                   else f"{key} {value}" for key, value in settings["options"].items()))
    if settings.get("select_best"):
        skip = settings.get("select_skip", 1)
        points = f"every {skip}th test point" if skip > 1 else "the test set"
        parts.append(f"best epoch by verified error on {points}")
    return "; ".join(parts)


class Footnotes:
    """Numbered notes shared by a table: ``mark(text)`` gives the same mark for the same text."""

    def __init__(self):
        self.notes: list[str] = []

    def mark(self, text: str) -> str:
        if text not in self.notes:
            self.notes.append(text)
        return f"[{self.notes.index(text) + 1}]"

    def lines(self) -> list[str]:
        return [f"- {self.mark(note)} {note}" for note in self.notes] + ([""] if self.notes else [])
