"""A journal read without Optuna (`ftsweep.study.store.journal_replay`) reads as Optuna reads it.

Every read of a journal goes through `JournalReplay`. These tests compare what it gives, record
for record and with what a write needs of each trial, with the same store made to replay the
journal through Optuna: on studies written by every kind of write ftsweep makes and by plain
Optuna beside them, and on records Optuna ignores, refuses, or reads in a way the replay does not
follow (those it hands to Optuna). A damaged journal is reported as Optuna's replay reports it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.trial import TrialState, create_trial

from ftsweep.errors import DamagedStudyError, NoStudyError
from ftsweep.study import SweepStudy, import_jobs, read_results, tell
from ftsweep.study.store.journal import JournalFile, open_journal
from ftsweep.study.store.trial_store import Snapshot, TrialStore
from tests.study.test_feedback import job_object
from tests.study.test_imports import SPACE, job
from tests.study.test_study import CONTINUOUS_SPACE, make_study, result, sweep_text

MULTI = (
    "objective:\n  - {metric: full_valid_loss}\n  - {metric: trained_tokens, direction: maximize}\n"
)
UNION = (
    "  - {batch_size: [2, 4], n_epochs: [1, 2], learning_rate_multiplier: {low: 0.5, high: 2,"
    " step: 0.5}}\n"
    "  - batch_size: 32\n"
    "    n_epochs: [2, 4, 8]\n"
    "    learning_rate_multiplier: [2.0, 1.0, 0.5]\n"
    "    zip: [[n_epochs, learning_rate_multiplier]]\n"
    "  - {batch_size: {low: 1, high: 16, step: 3, auto: true},"
    " learning_rate_multiplier: {low: 0.1, high: 4, log: true}}\n"
)


Loaded = tuple[Snapshot, dict[int, Any], list[Any]]


def load(study: SweepStudy, *, by_optuna: bool = False) -> tuple[Loaded, bool]:
    """A fresh store's load: its snapshot, what it keeps for writing each trial and its trials
    as Optuna's samplers get them; and whether the replay read the journal (`by_optuna`: the
    store is made to hand it to Optuna)."""
    store = TrialStore(study.sweep)
    if by_optuna:
        store._replays = False
    try:
        snapshot = store.load()
        frozen = store.optuna_trials(snapshot.trials)
        return (snapshot, dict(store._held), frozen), store._replays
    finally:
        store.close()


def same_as_optuna(study: SweepStudy) -> Snapshot:
    """The study's snapshot, read by the replay and checked against Optuna's replay."""
    loaded, replayed = load(study)
    assert replayed, "the replay handed the journal to Optuna"
    assert loaded == load(study, by_optuna=True)[0]
    return loaded[0]


class Studies:
    """Three sweeps in one journal, and a store for each kept open across every write, so
    that the replay's reading on from where it stopped is compared too."""

    def __init__(self, directory: Path) -> None:
        self.s = make_study(directory, sweep_text(space=SPACE), file="s.yaml")
        multi = sweep_text("m", strategy="nsga2", space=CONTINUOUS_SPACE, extra=MULTI)
        self.m = make_study(directory, multi, file="m.yaml")
        union = sweep_text("u", strategy="random", space=UNION)
        self.u = make_study(directory, union, file="u.yaml")
        self.kept = [(study, TrialStore(study.sweep)) for study in (self.s, self.m, self.u)]

    def check(self) -> None:
        """Each sweep reads alike both ways (one with no study yet is none both ways)."""
        for study, kept in self.kept:
            try:
                snapshot = same_as_optuna(study)
            except NoStudyError:
                with pytest.raises(NoStudyError):
                    load(study, by_optuna=True)
                continue
            assert kept.load() == snapshot, study.name


def write_jobs(path: Path, *items: dict[str, Any]) -> Path:
    path.write_text("".join(json.dumps(item) + "\n" for item in items))
    return path


def test_every_kind_of_write_reads_as_optunas_replay_reads_it(tmp_path: Path) -> None:
    studies = Studies(tmp_path)
    s, m, u = studies.s, studies.m, studies.u
    with s.asking(3, output=tmp_path / "batch.jsonl") as batch:  # pending, then delivered
        (tmp_path / "batch.jsonl").write_text("".join(json.dumps(a.body) + "\n" for a in batch))
    s.ask(2)
    studies.check()
    m.ask(3)  # a sampler's proposals, with the system attributes NSGA-II keeps
    u.ask(4)
    studies.check()

    running = job_object("s-0002", id="ftjob-2", created_at=1754000100)
    done = job_object(
        "s-0003",
        id="ftjob-3",
        status="succeeded",
        finished_at=1754003600,
        fine_tuned_model="ft:s-3",
        trained_tokens=4000,
    )
    jobs = read_results(write_jobs(tmp_path / "jobs.jsonl", running, done), s.sweep.objectives)
    told = [
        result(key="s-0000", values={"full_valid_loss": 0.5}, trained_tokens=1000, job_id="j0"),
        result(trial=1, status="failed", job_id="j1", error="invalid_training_file: bad"),
        result(key="s-0003", values={"full_valid_loss": 0.125}),
    ]
    tell(s, jobs + told)
    tell(m, [result(trial=n, values={"full_valid_loss": n / 4}, trained_tokens=n) for n in (0, 1)])
    tell(u, [result(trial=0, values={"full_valid_loss": 0.3}), result(trial=1, status="failed")])
    studies.check()

    submitting(s, 4)  # what submit writes: a claim, then the job; an uploaded file's id
    studies.check()

    tell(s, [result(trial=0, values={"full_valid_loss": 0.25})], force=True)  # a replacement
    with pytest.raises(RuntimeError), s.asking(2, output=tmp_path / "b2.jsonl"):
        raise RuntimeError  # the batch never written: its trials are discarded
    imported = write_jobs(tmp_path / "imported.jsonl", job("ftjob-x", n_epochs=3, batch_size=8))
    import_jobs(s, read_results(imported, s.sweep.objectives))
    studies.check()

    plain_optuna(s)
    studies.check()
    other_study(s)
    s.ask(1)  # trial ids now count the other studies' trials
    studies.check()

    snapshot = same_as_optuna(s)
    trials = snapshot.trials
    assert {t.state for t in trials} == {"running", "complete", "fail", "pruned"}
    assert [t.number for t in trials if t.foreign] == [9, 10, 11, 13, 14]  # plain Optuna's
    assert trials[12].params is not None  # Optuna's too, but sampled in the sweep's own terms
    assert any(t.supersedes == 0 for t in trials) and any(t.discarded for t in trials)
    assert any(t.origin == "import" for t in trials) and any(t.pending for t in trials)
    assert trials[3].job.fine_tuned_model == "ft:s-3" and trials[2].job.created_at == 1754000100
    assert snapshot.delivered
    assert {len(t.values) for t in same_as_optuna(m).trials if t.values} == {2}


def submitting(study: SweepStudy, number: int) -> None:
    from ftsweep.study.records import JobRecord, RecordJob, RememberFile

    claim = JobRecord(submitter="host:1234", submitted_at=1754000000)
    created = JobRecord(id="ftjob-4", status="validating_files", created_at=1754000001)
    with study.store.lock():
        study.store.load(write=True)
        study.store.apply([RecordJob(number, claim), RememberFile("ab" * 32, "file-abc")])
        study.store.load(write=True)
        study.store.apply([RecordJob(number, created)])
    snapshot = study.store.load()
    assert snapshot.files == {"ab" * 32: "file-abc"}
    assert snapshot.trials[number].job == JobRecord(
        id="ftjob-4",
        status="validating_files",
        created_at=1754000001,
        submitter="host:1234",
        submitted_at=1754000000,
    )


def plain_optuna(study: SweepStudy) -> None:
    """Trials plain Optuna adds beside ftsweep's: asked, enqueued, pruned, added whole, sampled
    through ftsweep's own distributions (and one more); attributes set through the storage."""
    storage = study.store.storage
    raw = optuna.load_study(study_name=study.name, storage=storage)
    asked = raw.ask()
    asked.suggest_float("x", 0.0, 1.0)
    asked.suggest_int("k", 1, 9, step=2)
    asked.suggest_categorical("c", ["a", None, 1.5, True])
    asked.suggest_float("lr", 1e-3, 1.0, log=True)
    asked.suggest_int("n", 1, 64, log=True)
    asked.set_user_attr("note", {"nested": [1, 2]})
    asked.report(0.5, step=1)
    raw.tell(asked, 0.25)
    raw.enqueue_trial({"x": 0.5})
    enqueued = raw.ask()
    enqueued.suggest_float("x", 0.0, 1.0)
    raw.tell(enqueued, state=TrialState.FAIL)
    raw.tell(raw.ask(), state=TrialState.PRUNED)
    ours = raw.ask()
    study.store.encoding.suggest(ours)
    storage.set_trial_system_attr(ours._trial_id, "custom", {"a": 1})
    mixed = raw.ask()  # the sweep's parameters and one more: no configuration of the sweep
    study.store.encoding.suggest(mixed)
    mixed.suggest_float("x", 0.0, 1.0)
    raw.add_trial(
        create_trial(
            params={"x": 0.2, "k": 3},
            distributions={"x": FloatDistribution(0, 1), "k": IntDistribution(1, 9, step=2)},
            value=0.7,
            user_attrs={"u": 1},
            system_attrs={"s": "v"},
            intermediate_values={1: 0.3},
        )
    )
    raw.set_user_attr("study", 1)


def other_study(study: SweepStudy) -> None:
    """A study of plain Optuna in the same journal, deleted and made again."""
    storage = study.store.storage
    trial = create_trial(
        params={"c": "b"}, distributions={"c": CategoricalDistribution(["a", "b"])}, value=1.0
    )
    optuna.create_study(study_name="other", storage=storage).add_trial(trial)
    optuna.delete_study(study_name="other", storage=storage)
    optuna.create_study(study_name="other", storage=storage).add_trial(trial)


# -- records one by one ----------------------------------------------------------------------

#: The running trial of the `journal` fixture's study (id 0): s-0001.
RUNNING_ID = 1


def trial_record(**fields: Any) -> dict[str, Any]:
    """A new trial of the study, as Optuna's `create_new_trial` writes one; `fields` add."""
    base = {"op_code": 4, "worker_id": "w", "study_id": 0, "datetime_start": None}
    return {**base, **fields}


def param_record(trial_id: int, name: str, value: float, text: str) -> dict[str, Any]:
    return {
        "op_code": 5,
        "worker_id": "w",
        "trial_id": trial_id,
        "param_name": name,
        "param_value_internal": value,
        "distribution": text,
    }


def state_record(state: int, **fields: Any) -> dict[str, Any]:
    base = {"op_code": 6, "worker_id": "w", "trial_id": RUNNING_ID, "state": state}
    return {**base, "values": None, **fields}


def step_record(step: Any, **value: float) -> dict[str, Any]:
    """An intermediate value of the running trial (`value`: intermediate_value=..., or none)."""
    base = {"op_code": 7, "worker_id": "w", "trial_id": RUNNING_ID, "step": step}
    return {**base, **value}


def text_of(distribution: Any) -> str:
    return optuna.distributions.distribution_to_json(distribution)


FLOAT = text_of(FloatDistribution(0.0, 1.0))
GRID_EPOCHS = text_of(CategoricalDistribution((1, 2, 3)))  # the sweep's own `n_epochs`
CHOICES = text_of(CategoricalDistribution(("a", None, 2.5, False)))
ODD = text_of(IntDistribution(1, 9, step=2))
OLD = '{"name": "UniformDistribution", "attributes": {"low": 0.0, "high": 1.0}}'


#: Records Optuna's replay follows, and the replay follows alike (ignored ones among them).
FOLLOWED: dict[str, list[dict[str, Any]]] = {
    "an update of a finished trial": [
        {"op_code": 8, "worker_id": "w", "trial_id": 0, "user_attr": {"job.id": "late"}}
    ],
    "updates of trials that do not exist": [
        {"op_code": 8, "worker_id": "w", "trial_id": 99, "user_attr": {"a": 1}},
        {"op_code": 9, "worker_id": "w", "trial_id": -1, "system_attr": {"a": 1}},
    ],
    "a trial of a study that does not exist": [trial_record(study_id=42, params={"x": 1})],
    "a second study of the same name": [
        {"op_code": 0, "worker_id": "w", "study_name": "s", "directions": [2]}
    ],
    "a discard and a study user attribute": [
        {"op_code": 10, "worker_id": "w"},
        {"op_code": 2, "worker_id": "w", "study_id": 0, "user_attr": {"a": [1]}},
    ],
    "a running trial told running again, then waiting": [
        state_record(0, datetime_start="2026-01-02T03:04:05.000006+00:00"),
        state_record(4),
    ],
    "an intermediate value": [step_record(3, intermediate_value=0.5)],
    "a parameter of the sweep set again, indexed from the end as Optuna does": [
        param_record(RUNNING_ID, "n_epochs", -1, GRID_EPOCHS)
    ],
    "a complete trial with one value, its times in another zone": [
        trial_record(
            state=1,
            value=0.5,
            datetime_start="2026-01-02T03:04:05+05:30",
            datetime_complete="2026-01-02T04:04:05.5+05:30",
            distributions={"x": FLOAT},
            params={"x": 0.25},
        )
    ],
    "parameters of plain Optuna, set one by one": [
        trial_record(),
        param_record(2, "x", 0.5, FLOAT),
        param_record(2, "y", 3, ODD),
        param_record(2, "c", 2, CHOICES),
    ],
}

#: Records Optuna's replay reads but the replay does not follow: it hands the journal to Optuna.
HANDED_TO_OPTUNA: dict[str, list[dict[str, Any]]] = {
    "a distribution of an older kind": [trial_record(distributions={"x": OLD}, params={"x": 0.5})],
    "a distribution in Optuna's short form": [
        trial_record(distributions={"x": '{"type": "float", "low": 0, "high": 1}'}, params={"x": 0})
    ],
    "a parameter another trial holds with another distribution": [
        trial_record(distributions={"x": FLOAT}, params={"x": 0.5}),
        trial_record(),
        param_record(3, "x", 1.5, text_of(FloatDistribution(0.0, 2.0))),
    ],
    "a parameter of the sweep with another distribution": [
        trial_record(
            distributions={"n_epochs": text_of(IntDistribution(1, 50))}, params={"n_epochs": 30}
        )
    ],
}

#: Records Optuna's replay refuses: the journal is damaged there, as Optuna reports it.
REFUSED: dict[str, dict[str, Any]] = {
    "a parameter without its distribution": trial_record(params={"x": 1}),
    "a distribution that is not JSON": trial_record(distributions={"x": FLOAT[:-4]}),
    "a range whose low is above its high": trial_record(
        distributions={"x": FLOAT.replace('"low": 0.0', '"low": 2.0')}
    ),
    "an unknown trial state": trial_record(state=7),
    "a value and values": trial_record(state=1, value=0.5, values=[0.5]),
    "an unknown study direction": {
        "op_code": 0,
        "worker_id": "w",
        "study_name": "x",
        "directions": [5],
    },
    "an intermediate value without its value": step_record(1),
    "a choice that is not a number": trial_record(distributions={"c": CHOICES}, params={"c": "z"}),
    "a choice beyond the choices": trial_record(distributions={"c": CHOICES}, params={"c": 4}),
    "a choice set beyond the choices": param_record(RUNNING_ID, "c", -5, CHOICES),
    "an intermediate step that is not a number": trial_record(intermediate_values={"a": 1.0}),
}


@pytest.fixture
def journal(tmp_path: Path) -> SweepStudy:
    """A grid sweep's study: two trials handed out, the first told."""
    study = make_study(tmp_path, sweep_text(space=SPACE))
    study.ask(2)
    tell(study, [result(trial=0, values={"full_valid_loss": 0.5})])
    return study


def append(study: SweepStudy, records: list[dict[str, Any]]) -> None:
    assert study.location.path is not None
    for record in records:  # one by one: unframed, as plain Optuna appends
        JournalFile(study.location.path).append_logs([record])


@pytest.mark.parametrize("records", FOLLOWED.values(), ids=FOLLOWED.keys())
def test_records_optuna_follows_are_followed_alike(
    journal: SweepStudy, records: list[dict[str, Any]]
) -> None:
    append(journal, records)
    same_as_optuna(journal)


@pytest.mark.filterwarnings("ignore::FutureWarning")  # Optuna's, of its older distributions
@pytest.mark.parametrize("records", HANDED_TO_OPTUNA.values(), ids=HANDED_TO_OPTUNA.keys())
def test_records_the_replay_does_not_follow_go_to_optuna(
    journal: SweepStudy, records: list[dict[str, Any]]
) -> None:
    append(journal, records)
    loaded, replayed = load(journal)
    assert not replayed
    assert loaded == load(journal, by_optuna=True)[0]


@pytest.mark.parametrize("record", REFUSED.values(), ids=REFUSED.keys())
def test_records_optuna_refuses_are_damage_as_optuna_reports_it(
    journal: SweepStudy, record: dict[str, Any]
) -> None:
    append(journal, [record])
    path = journal.location.path
    assert path is not None
    line = len(path.read_bytes().splitlines())
    with pytest.raises(DamagedStudyError) as optunas:
        open_journal(path, read_only=True)
    assert f"damaged at line {line}: Optuna cannot replay it" in str(optunas.value)
    with pytest.raises(DamagedStudyError) as ours:
        SweepStudy(journal.sweep).trials()
    assert str(ours.value) == str(optunas.value)


def test_an_infinite_choice_is_damage_as_optuna_reports_it(journal: SweepStudy) -> None:
    """Optuna's own journal backend writes infinity as `Infinity`; as a choice's index its
    replay fails on it (OverflowError)."""
    path = journal.location.path
    assert path is not None
    record = json.dumps(trial_record(distributions={"c": CHOICES}, params={"c": float("inf")}))
    with path.open("a") as file:
        file.write(record + "\n")
    line = len(path.read_bytes().splitlines())
    with pytest.raises(DamagedStudyError, match=f"line {line}: Optuna cannot replay it .Overflow"):
        SweepStudy(journal.sweep).trials()


# -- no Optuna -------------------------------------------------------------------------------

IMPORTS = """
import sys
from pathlib import Path
from ftsweep.cli.loop_actions import best_command, tell_command, trials_command

def loaded():
    return ",".join(m for m in ("optuna", "pandas") if m in sys.modules) or "-"

sweep, results, out = map(Path, sys.argv[1:])
trials_command(sweep, "table", output=out / "trials.txt", storage=None)
best_command(sweep, storage=None)
seen = [loaded()]
tell_command(sweep, [results], trial=None, force=False, storage=None)
seen.append(loaded())
trials_command(sweep, "csv", output=out / "trials.csv", storage=None)
trials_command(sweep, "json", output=out / "trials.json", storage=None)
seen.append(loaded())
trials_command(sweep, "parquet", output=out / "trials.parquet", storage=None)
seen.append(loaded())
print(" ".join(seen), file=sys.stderr)
"""


def test_reading_and_telling_a_journal_imports_no_optuna(
    journal: SweepStudy, tmp_path: Path
) -> None:
    results = tmp_path / "results.csv"
    results.write_text("trial,full_valid_loss\n1,0.75\n")
    src = str(Path(__file__).resolve().parents[3] / "src")
    done = subprocess.run(
        [sys.executable, "-c", IMPORTS, str(journal.sweep.file), str(results), str(tmp_path)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": src},
        check=True,
    )
    # The table, best, CSV and JSON need neither; Parquet is written from a DataFrame: pandas.
    assert done.stderr.splitlines()[-1] == "- - - pandas"
    assert [t.state for t in SweepStudy(journal.sweep).trials()] == ["complete", "complete"]
