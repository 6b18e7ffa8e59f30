"""Input hashes and plan fingerprints.

The input hash covers the request as the caller sent it (canonical JSON).
The fingerprint covers the plan's content and leaves out what differs
between two runs of the same request in reproducible mode: ids, revision
links, timings, and the wall-clock fields of provenance.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from pydantic import BaseModel

# Plan fields that say which run made the plan, not what the plan is.
_NOT_CONTENT = {"plan_id", "revision", "parent_revision", "timings"}
_PROVENANCE_NOT_CONTENT = {"fingerprint"}


def canonical_json(value: Any) -> bytes:
    """Stable JSON bytes: sorted keys, no spaces, UTF-8."""
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json")
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    ).encode("utf-8")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def input_hash(request: BaseModel) -> str:
    """Hash of a request's canonical JSON."""
    return "sha256:" + sha256_hex(canonical_json(request))


def plan_fingerprint(plan: BaseModel) -> str:
    """Hash of a plan's content, leaving out ids, revisions and timings."""
    data = plan.model_dump(mode="json")
    for key in _NOT_CONTENT:
        data.pop(key, None)
    provenance = dict(data.get("provenance") or {})
    for key in _PROVENANCE_NOT_CONTENT:
        provenance.pop(key, None)
    data["provenance"] = provenance
    return "sha256:" + sha256_hex(canonical_json(data))
