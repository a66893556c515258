"""00 §5: the committed OpenAPI schema matches the app (regenerate: `polaris dev openapi`)."""

from __future__ import annotations

from pathlib import Path

from polaris_api.cli import openapi_document
from tests.test_capabilities import UNAUTHENTICATED_PATHS

COMMITTED = Path(__file__).resolve().parents[1] / "openapi" / "openapi.json"


def test_committed_openapi_schema_is_current():
    assert COMMITTED.exists(), "run `polaris dev openapi` and commit openapi/openapi.json"
    assert COMMITTED.read_text() == openapi_document(), (
        "openapi/openapi.json is stale: run `polaris dev openapi`"
    )


def test_every_operation_documents_problem_responses():
    import json

    schema = json.loads(openapi_document())
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            if path.startswith("/api/v1/") and "/public/" not in path and "/meta/" not in path:
                assert "401" in operation["responses"] or path in UNAUTHENTICATED_PATHS, f"{method} {path}"
