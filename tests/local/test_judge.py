"""Model graders against a judge served on 127.0.0.1 by the test, through the real openai client."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from pydantic import ValidationError

from ftsweep.local.graders import RewardFunction, reward_functions
from ftsweep.local.judge import JudgeSettings, read_label, read_score

Answer = Callable[[dict[str, Any]], tuple[int, bytes]]


def completion(text: str) -> tuple[int, bytes]:
    body = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 0,
        "model": "judge",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "finish_reason": "stop",
            }
        ],
    }
    return 200, json.dumps(body).encode()


@dataclass
class Judge:
    """A chat completions endpoint whose answer the test sets; it keeps what it was sent."""

    url: str
    answer: Answer = lambda request: completion('{"score": 1}')
    requests: list[dict[str, Any]] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)


@pytest.fixture
def judge() -> Iterator[Judge]:
    server: ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            state.requests.append(body)
            state.keys.append(self.headers.get("Authorization", ""))
            status, answer = (
                state.answer(body) if self.path == "/v1/chat/completions" else (404, b"{}")
            )
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state = Judge(url=f"http://127.0.0.1:{server.server_address[1]}/v1")
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()
    thread.join()


def _settings(url: str, **extra: Any) -> JudgeSettings:
    return JudgeSettings(base_url=url, model="local-judge", max_retries=1, timeout=5, **extra)


SCORE_MODEL: dict[str, Any] = {
    "type": "score_model",
    "name": "quality",
    "model": "gpt-4o-2024-08-06",
    "input": [
        {"role": "developer", "content": "You grade answers to {{ item.question }}."},
        {"role": "user", "content": [{"type": "input_text", "text": "{{ sample.output_text }}"}]},
    ],
    "range": [0, 10],
    "sampling_params": {"temperature": 0, "max_completions_tokens": 50, "seed": 7},
}
LABEL_MODEL: dict[str, Any] = {
    "type": "label_model",
    "name": "verdict",
    "model": "gpt-4o",
    "input": [{"role": "user", "content": "Is '{{ sample.output_text }}' right?"}],
    "labels": ["right", "wrong", "unsure"],
    "passing_labels": ["right"],
}


def _score_model(url: str, **extra: Any) -> RewardFunction:
    [function] = reward_functions(SCORE_MODEL, judge=_settings(url, **extra))
    return function


def _label_model(url: str) -> RewardFunction:
    multi = {
        "type": "multi",
        "name": "labelled",
        "graders": {"verdict": LABEL_MODEL},
        "calculate_output": "verdict",
    }
    [function] = reward_functions(multi, judge=_settings(url))
    return function


def test_a_score_model_sends_rendered_messages_and_reads_the_score(judge: Judge) -> None:
    judge.answer = lambda request: completion('```json\n{"score": 7.5}\n```')
    reward = _score_model(judge.url)
    assert reward(["q"], ["Paris"], question=["the capital of France"]) == [7.5]
    [request] = judge.requests
    assert request["model"] == "local-judge"
    assert request["temperature"] == 0
    assert request["max_tokens"] == 50
    assert request["seed"] == 7
    system, user = request["messages"]
    assert system["role"] == "system"
    assert system["content"] == (
        "You grade answers to the capital of France.\n\n"
        'Answer with only a JSON object {"score": <a number from 0 to 10>}.'
    )
    assert user == {"role": "user", "content": [{"type": "text", "text": "Paris"}]}
    assert judge.keys == ["Bearer unused"]


@pytest.mark.parametrize(
    ("reply", "expected"),
    [("I'd say 8 out of 10", 8.0), ('{"score": 15}', 10.0), ("-3", 0.0), ('{"result": 2}', 2.0)],
)
def test_a_score_is_the_first_number_clamped_to_the_range(
    judge: Judge, reply: str, expected: float
) -> None:
    judge.answer = lambda request: completion(reply)
    assert _score_model(judge.url)(["q"], ["a"], question=["x"]) == [expected]


def test_a_label_model_passes_on_a_passing_label(judge: Judge) -> None:
    replies = {"A": '{"label": "right"}', "B": "wrong", "C": "Right.", "D": "right or wrong"}
    judge.answer = lambda request: completion(replies[request["messages"][-1]["content"][4]])
    reward = _label_model(judge.url)
    assert reward(["q"] * 4, ["A", "B", "C", "D"]) == [1.0, 0.0, 1.0, 0.0]
    assert reward.problems.counts == {("labelled.verdict", "judge"): 1}  # D names two labels
    instruction = judge.requests[0]["messages"][0]
    assert instruction == {
        "role": "system",
        "content": 'Answer with only a JSON object {"label": <one of "right", "wrong", "unsure">}.',
    }


def test_a_judge_that_answers_500_is_retried_then_scores_zero(judge: Judge) -> None:
    judge.answer = lambda request: (500, b'{"error": {"message": "down"}}')
    reward = _score_model(judge.url)
    assert reward(["q", "q"], ["a", "b"], question=["x", "y"]) == [0.0, 0.0]
    assert len(judge.requests) == 4  # 1 + max_retries for each sample
    assert reward.problems.counts == {("quality", "judge"): 2}


def test_a_judge_that_refuses_with_400_is_not_retried(judge: Judge) -> None:
    judge.answer = lambda request: (400, b'{"error": {"message": "bad request"}}')
    reward = _score_model(judge.url)
    assert reward(["q"], ["a"], question=["x"]) == [0.0]
    assert len(judge.requests) == 1


@pytest.mark.parametrize(
    "answer",
    [
        (200, b"this is not json"),
        (200, b'{"choices": "garbage"}'),
        completion("no number at all"),
        completion(""),
    ],
)
def test_a_judge_that_answers_garbage_scores_zero(judge: Judge, answer: tuple[int, bytes]) -> None:
    judge.answer = lambda request: answer
    reward = _score_model(judge.url)
    assert reward(["q"], ["a"], question=["x"]) == [0.0]
    assert len(judge.requests) == 2
    assert reward.problems.counts == {("quality", "judge"): 1}


def test_a_judge_that_is_not_there_scores_zero() -> None:
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    reward = _score_model(f"http://127.0.0.1:{port}/v1")  # nothing listens there now
    assert reward(["q"], ["a"], question=["x"]) == [0.0]
    assert reward.problems.counts == {("quality", "judge"): 1}


def test_a_missing_template_field_is_not_sent(judge: Judge) -> None:
    reward = _score_model(judge.url)
    assert reward(["q"], ["a"]) == [0.0]
    assert judge.requests == []
    assert reward.problems.counts == {("quality", "template"): 1}


def test_the_api_key_comes_from_the_named_variable_only(
    judge: Judge, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FTSWEEP_TEST_JUDGE_KEY", raising=False)
    with pytest.raises(ValueError, match="api_key_env is FTSWEEP_TEST_JUDGE_KEY, but that"):
        _score_model(judge.url, api_key_env="FTSWEEP_TEST_JUDGE_KEY")
    monkeypatch.setenv("FTSWEEP_TEST_JUDGE_KEY", "sk-test")
    _score_model(judge.url, api_key_env="FTSWEEP_TEST_JUDGE_KEY")(["q"], ["a"], question=["x"])
    assert judge.keys == ["Bearer sk-test"]
    with pytest.raises(ValidationError, match="api_key"):
        JudgeSettings(base_url=judge.url, model="m", api_key="sk-in-a-file")  # type: ignore[call-arg]


def test_judge_settings_check_their_values() -> None:
    with pytest.raises(ValidationError, match="base_url"):
        JudgeSettings(base_url="localhost:8000", model="m")
    with pytest.raises(ValidationError, match="max_concurrency"):
        JudgeSettings(base_url="http://x", model="m", max_concurrency=0)


def test_reading_replies() -> None:
    assert read_score(0, 1, '{"score": 0.25, "why": "3 errors"}') == 0.25
    assert read_score(0, 1, '{"score": "0.5"}') == 0.5  # not a number in JSON: the first number
    assert read_label(["pass", "fail"], '{"label": "FAIL"}') == "fail"
    assert read_label(["pass", "fail"], "I think it should pass overall") == "pass"
    with pytest.raises(ValueError, match="names 0 of the labels"):
        read_label(["pass", "fail"], "passable")
