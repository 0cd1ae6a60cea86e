"""Where a sweep's study lives, and its allocation lock (`ftsweep.study.store.storage`)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ftsweep.errors import DamagedStudyError, StudyError
from ftsweep.study import StorageLocation, SweepStudy, resolve_storage, tell, trials_frame
from ftsweep.study.store.storage import ENV_VAR, _advisory_key, _redact
from tests.study.test_study import make_study, result, sweep_text


@pytest.fixture(autouse=True)
def no_env_storage(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)


def test_the_default_is_a_journal_beside_the_sweep_file(tmp_path: Path) -> None:
    location = resolve_storage(tmp_path / "sweeps" / "a.yaml")
    path = tmp_path / "sweeps" / ".ftsweep" / "journal.log"
    assert location == StorageLocation(f"journal:{path}", path)
    assert location.kind == "journal"


def test_a_relative_sweep_path_gives_an_absolute_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert resolve_storage("a.yaml").path == tmp_path / ".ftsweep" / "journal.log"


def test_the_argument_wins_over_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "env.log"))
    assert resolve_storage("a.yaml").path == tmp_path / "env.log"
    assert resolve_storage("a.yaml", str(tmp_path / "arg.log")).path == tmp_path / "arg.log"


def test_an_empty_environment_variable_means_the_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV_VAR, "")
    assert resolve_storage(tmp_path / "a.yaml").path == tmp_path / ".ftsweep" / "journal.log"


@pytest.mark.parametrize("suffix", [".log", ".journal", ".jsonl"])
def test_journal_suffixes(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"studies{suffix}"
    assert resolve_storage("a.yaml", str(path)) == StorageLocation(f"journal:{path}", path)


def test_the_journal_prefix_takes_any_name(tmp_path: Path) -> None:
    path = tmp_path / "studies.db"
    location = resolve_storage("a.yaml", f"journal:{path}")
    assert (location.kind, location.path) == ("journal", path)


def test_a_relative_journal_path_is_made_absolute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert resolve_storage("a.yaml", "runs/s.log").path == tmp_path / "runs" / "s.log"


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("sqlite:///studies.db", "sqlite"),
        ("postgresql+psycopg://user@db.example/sweeps", "postgresql"),
        ("postgresql://user@db.example/sweeps", "postgresql"),
        ("mysql+pymysql://user@db.example/sweeps", "mysql"),
    ],
)
def test_database_urls(url: str, kind: str) -> None:
    location = resolve_storage("a.yaml", url)
    assert (location.url, location.path, location.kind) == (url, None, kind)


@pytest.mark.parametrize("named", ["studies.db", "studies", "localhost:5432/db"])
def test_anything_else_is_refused(named: str) -> None:
    with pytest.raises(StudyError) as caught:
        resolve_storage("a.yaml", named)
    assert str(caught.value) == (
        f"storage {named!r} is neither a journal file (*.log, *.journal, journal:PATH) nor a "
        "database URL (sqlite:///PATH, postgresql+psycopg://USER@HOST/DB)"
    )


def test_an_unusable_environment_value_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_VAR, "nowhere")
    with pytest.raises(StudyError, match="storage 'nowhere' is neither a journal file"):
        resolve_storage("a.yaml")


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql+psycopg://ann:s3cret@db:5432/x", "postgresql+psycopg://ann:***@db:5432/x"),
        ("postgresql://ann:p@ss:word@db/x", "postgresql://ann:***@db/x"),
        ("postgresql://ann@db/x", "postgresql://ann@db/x"),
        ("sqlite:////tmp/x.db", "sqlite:////tmp/x.db"),
    ],
)
def test_passwords_are_redacted(url: str, shown: str) -> None:
    assert _redact(url) == shown


def test_a_database_that_cannot_be_opened_is_an_error_without_its_password() -> None:
    # Port 1 on localhost refuses at once; the message must not carry the password.
    url = "postgresql+psycopg://ann:s3cret@127.0.0.1:1/sweeps?connect_timeout=2"
    with pytest.raises(StudyError) as caught:
        resolve_storage("a.yaml", url).open()
    message = str(caught.value)
    assert message.startswith("storage postgresql+psycopg://ann:***@127.0.0.1:1/sweeps")
    assert "s3cret" not in message


def test_a_journal_that_cannot_be_created_is_an_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    location = resolve_storage("a.yaml", str(blocker / "studies.log"))
    with pytest.raises(StudyError, match=f"^storage {blocker / 'studies.log'}: "):
        location.open()


def test_a_storage_without_a_known_lock_is_refused() -> None:
    location = resolve_storage("a.yaml", "mysql+pymysql://user@db.example/sweeps")
    with (
        pytest.raises(StudyError, match="^mysql storage has no lock ftsweep knows how to take"),
        location.lock("s"),
    ):
        pass


def test_advisory_keys_are_stable_and_per_study() -> None:
    assert _advisory_key("s") == _advisory_key("s")
    assert _advisory_key("s") != _advisory_key("t")
    assert -(2**63) <= _advisory_key("s") < 2**63


def test_the_file_lock_sits_beside_the_journal(tmp_path: Path) -> None:
    location = resolve_storage("a.yaml", str(tmp_path / "j.log"))
    with location.lock("s"):
        assert (tmp_path / "j.log.ftsweep-lock").exists()


def test_sqlite_storage_end_to_end(tmp_path: Path, opened: list[SweepStudy]) -> None:
    url = f"sqlite:///{tmp_path / 'studies.db'}"
    study = make_study(tmp_path, sweep_text(), storage=url)
    opened.append(study)
    assert [a.key for a in study.ask(2)] == ["s-0000", "s-0001"]
    report = tell(study, [result(trial=0, values={"full_valid_loss": 0.5}, job_id="ftjob-0")])
    assert report.finished == 1
    again = SweepStudy(study.sweep, url)  # a fresh handle reads the same study
    opened.append(again)
    assert [a.key for a in again.ask(1)] == ["s-0002"]
    frame = trials_frame(again)
    assert list(frame["state"]) == ["complete", "running", "running"]
    assert frame["job_id"][0] == "ftjob-0"
    assert (tmp_path / "studies.db.ftsweep-lock").exists()
    assert not (tmp_path / ".ftsweep").exists()


def test_a_journal_storage_named_by_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "shared.log"))
    study = make_study(tmp_path, sweep_text())
    study.ask(1)
    assert (tmp_path / "shared.log").stat().st_size > 0
    assert not (tmp_path / ".ftsweep").exists()


@pytest.fixture
def opened() -> Iterator[list[SweepStudy]]:
    """Studies whose RDB storage a test opened: their connection pools are closed after it."""
    studies: list[SweepStudy] = []
    yield studies
    for study in studies:
        study.store.storage.engine.dispose()


def test_postgresql_end_to_end(tmp_path: Path, postgres_url: str, opened: list[SweepStudy]) -> None:
    study = make_study(tmp_path, sweep_text(extra="max_trials: 4\n"), storage=postgres_url)
    opened.append(study)
    assert study.location.kind == "postgresql"
    assert [a.key for a in study.ask(3)] == ["s-0000", "s-0001", "s-0002"]
    tell(study, [result(trial=0, values={"full_valid_loss": 0.5})])
    assert tell(study, [result(trial=0, values={"full_valid_loss": 0.5})]).unchanged == 1
    tell(study, [result(trial=0, values={"full_valid_loss": 0.4})], force=True)
    with pytest.raises(RuntimeError), study.asking(1):
        raise RuntimeError("not written")
    assert len(study.ask(5)) == 1
    fresh = SweepStudy(study.sweep, postgres_url)
    opened.append(fresh)
    frame = trials_frame(fresh)
    assert list(frame["key"]) == ["s-0000", "s-0001", "s-0002", "s-0005"]
    assert frame["full_valid_loss"][0] == 0.4


def test_a_journal_lock_that_cannot_be_taken_is_an_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    location = resolve_storage("a.yaml", str(blocker / "studies.log"))
    lock = blocker / "studies.log.ftsweep-lock"
    with pytest.raises(StudyError, match=f"^storage lock {lock}: "), location.lock("s"):
        pass


def test_a_database_lock_that_cannot_be_taken_is_an_error_without_its_password() -> None:
    url = "postgresql+psycopg://ann:s3cret@127.0.0.1:1/sweeps?connect_timeout=2"
    with pytest.raises(StudyError) as caught, resolve_storage("a.yaml", url).lock("s"):
        pass
    message = str(caught.value)
    assert message.startswith("storage postgresql+psycopg://ann:***@127.0.0.1:1/sweeps")
    assert "s3cret" not in message


# --- read-only ------------------------------------------------------------------------------


def written_journal(tmp_path: Path) -> Path:
    """A journal holding sweep `s` with three trials handed out, the first of them told."""
    journal = tmp_path / "studies" / "s.log"
    study = make_study(tmp_path, sweep_text(), storage=str(journal))
    study.ask(3)
    tell(study, [result(trial=0, values={"full_valid_loss": 0.5}, job_id="ftjob-0")])
    return journal


def listing(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in directory.iterdir()}


def read_states(storage: object) -> list[str]:
    import optuna

    return [t.state.name for t in optuna.load_study(study_name="s", storage=storage).trials]


def test_a_journal_opens_read_only_without_creating_or_locking_anything(tmp_path: Path) -> None:
    journal = written_journal(tmp_path)
    before = listing(journal.parent)
    location = resolve_storage("a.yaml", str(journal))
    assert location.exists()
    assert read_states(location.open(read_only=True)) == ["COMPLETE", "RUNNING", "RUNNING"]
    assert listing(journal.parent) == before


def test_a_read_only_journal_sees_what_writers_append_later(tmp_path: Path) -> None:
    import optuna

    journal = written_journal(tmp_path)
    reader = resolve_storage("a.yaml", str(journal)).open(read_only=True)
    study = optuna.load_study(study_name="s", storage=reader)
    assert len(study.trials) == 3
    make_study(tmp_path, sweep_text(), storage=str(journal)).ask(2)
    assert [t.number for t in study.trials] == [0, 1, 2, 3, 4]


def test_a_missing_journal_is_no_study_and_nothing_is_created(tmp_path: Path) -> None:
    location = resolve_storage(tmp_path / "a.yaml")  # the default: .ftsweep/journal.log
    assert not location.exists()
    with pytest.raises(StudyError, match=f"^storage {location.path}: no study: the journal file"):
        location.open(read_only=True)
    assert list(tmp_path.iterdir()) == []


def test_writing_through_a_read_only_journal_is_refused(tmp_path: Path) -> None:
    import optuna

    journal = written_journal(tmp_path)
    before = journal.read_bytes()
    storage = resolve_storage("a.yaml", str(journal)).open(read_only=True)
    refused = f"^storage {journal} is open read-only: nothing is written to it$"
    with pytest.raises(StudyError, match=refused):
        optuna.load_study(study_name="s", storage=storage).ask()
    with pytest.raises(StudyError, match=refused):
        optuna.create_study(study_name="t", storage=storage)
    assert journal.read_bytes() == before


def test_a_last_line_still_being_written_is_left_for_the_next_read(tmp_path: Path) -> None:
    journal = written_journal(tmp_path)
    with journal.open("ab") as file:
        file.write(b'{"op_code": 4, "worker_id": "x", "study_id": 0')  # no newline yet
    storage = resolve_storage("a.yaml", str(journal)).open(read_only=True)
    assert read_states(storage) == ["COMPLETE", "RUNNING", "RUNNING"]


def test_a_broken_line_before_others_is_an_error(tmp_path: Path) -> None:
    journal = written_journal(tmp_path)
    lines = journal.read_bytes().splitlines(keepends=True)
    journal.write_bytes(lines[0] + b"{not json\n" + b"".join(lines[1:]))
    location = resolve_storage("a.yaml", str(journal))
    expected = (
        f"^storage {journal} is damaged at line 2: not JSON \\(Expecting property name enclosed "
        "in double quotes at column 2\\); `ftsweep doctor SWEEP` lists the damage, "
        "`ftsweep doctor SWEEP --repair` drops it"
    )
    with pytest.raises(DamagedStudyError, match=expected):
        location.open(read_only=True)


def test_whether_a_database_exists(tmp_path: Path) -> None:
    database = tmp_path / "studies.db"
    assert not resolve_storage("a.yaml", f"sqlite:///{database}").exists()
    database.write_bytes(b"")
    assert resolve_storage("a.yaml", f"sqlite:///{database}").exists()
    assert not resolve_storage("a.yaml", "sqlite:///:memory:").exists()
    assert resolve_storage("a.yaml", "postgresql+psycopg://user@db.example/sweeps").exists()


READER = """\
import sys
import optuna
from ftsweep.study.store.storage import resolve_storage

storage = resolve_storage("a.yaml", sys.argv[1]).open(read_only=True)
print(*(t.state.name for t in optuna.load_study(study_name="s", storage=storage).trials))
"""


def read_only_mount(directory: Path) -> list[str]:
    """A command prefix that runs its command with `directory` mounted read-only.

    Tests run as root, whom file modes do not stop, so this bind-mounts the directory read-only
    in a private mount namespace (`unshare -m`); skipped where that is not allowed.
    """
    script = 'mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" "$0" && exec "$@"'
    prefix = ["unshare", "-m", "sh", "-c", script, str(directory)]
    try:
        probe = subprocess.run([*prefix, "touch", str(directory / "probe")], capture_output=True)
    except FileNotFoundError:
        pytest.skip("no unshare here to make a read-only mount")
    if b"Read-only file system" not in probe.stderr:
        pytest.skip(f"cannot make a read-only mount here: {probe.stderr.decode().strip()}")
    return prefix


def test_a_journal_on_a_read_only_mount_is_read(tmp_path: Path) -> None:
    journal = written_journal(tmp_path)
    command = [*read_only_mount(journal.parent), sys.executable, "-c", READER, str(journal)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == "COMPLETE RUNNING RUNNING\n"


def test_a_schema_another_process_made_meanwhile_is_opened_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Processes that open a fresh database at once race to make its tables: the loser's
    duplicate-type error means the tables are there now, so the open is tried again."""
    import optuna.storages

    from ftsweep.study.store import storage

    class IntegrityError(Exception):  # SQLAlchemy's, by name: drivers share no base class
        pass

    calls: list[str] = []

    def flaky(url: str, **_: object) -> str:
        calls.append(url)
        if len(calls) < 3:
            raise IntegrityError('duplicate key value violates unique constraint "pg_type_typname"')
        return "opened"

    monkeypatch.setattr(optuna.storages, "RDBStorage", flaky)
    monkeypatch.setattr("time.sleep", lambda _: None)
    assert storage._rdb("postgresql://db") == "opened"
    assert len(calls) == 3

    def broken(url: str, **_: object) -> str:
        raise IntegrityError("some other integrity problem")

    monkeypatch.setattr(optuna.storages, "RDBStorage", broken)
    with pytest.raises(StudyError, match="some other integrity problem"):
        storage._rdb("postgresql://db")
