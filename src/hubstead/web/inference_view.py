"""The model page's inference widget and its Deploy panel (curl, InferenceClient and openai snippets)."""

from __future__ import annotations

from dataclasses import dataclass

from hubstead.repos.models import Repo, RepoType
from hubstead.web.repo_view import Snippet

# the input each task's widget takes: text, two texts (question + context), labels, a file
WIDGET_INPUTS = {
    "text-classification": "text",
    "token-classification": "text",
    "fill-mask": "text",
    "feature-extraction": "text",
    "sentence-similarity": "sentences",
    "question-answering": "qa",
    "zero-shot-classification": "labels",
    "summarization": "text",
    "translation": "text",
    "text-generation": "text",
    "image-classification": "file",
    "automatic-speech-recognition": "file",
}
EXAMPLES = {
    "fill-mask": "Paris is the [MASK] of France.",
    "text-generation": "Once upon a time",
    "question-answering": "What is the capital of France?",
}


@dataclass(frozen=True)
class Widget:
    task: str
    input: str
    example: str
    url: str
    calls: int


def widget_for(repo: Repo, enabled: bool, calls: int) -> Widget | None:
    if repo.type is not RepoType.MODEL or not enabled or repo.pipeline_tag not in WIDGET_INPUTS:
        return None
    task = repo.pipeline_tag
    example = EXAMPLES.get(task, "I love this hub.")
    return Widget(task, WIDGET_INPUTS[task], example, f"/models/{repo.repo_id}", calls)


def deploy_snippets(repo: Repo, base_url: str) -> list[Snippet]:
    repo_id, task = repo.repo_id, repo.pipeline_tag or ""
    curl = (
        f'curl {base_url}/models/{repo_id} \\\n  -H "Authorization: Bearer $HF_TOKEN" \\\n'
        '  -H "Content-Type: application/json" \\\n  -d \'{"inputs": "Hello"}\''
    )
    method = task.replace("-", "_") if task else "post"
    python = (
        "from huggingface_hub import InferenceClient\n\n"
        f'client = InferenceClient(model="{base_url}/models/{repo_id}", token="hf_...")\n'
        f'print(client.{method}("Hello"))'
    )
    out = [Snippet("curl", "bash", curl), Snippet("Python (InferenceClient)", "python", python)]
    if task in ("text-generation", "feature-extraction", "sentence-similarity"):
        call = (
            f'client.chat.completions.create(model="{repo_id}", messages=[{{"role": "user", "content": "Hello"}}])'
            if task == "text-generation"
            else f'client.embeddings.create(model="{repo_id}", input=["Hello"])'
        )
        out.append(
            Snippet(
                "Python (openai)",
                "python",
                f'from openai import OpenAI\n\nclient = OpenAI(base_url="{base_url}/v1", api_key="hf_...")\n{call}',
            )
        )
    return out
