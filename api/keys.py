"""API keys and `clearplan keys create|revoke|list`.

A key reads `cpk_<key id>_<secret>`. Only the SHA-256 of the secret is
stored: the secret is 32 random bytes, so a plain hash is as strong as a
slow one, and checking it costs microseconds on every poll. The key id is
not secret; it names the key in logs and in `clearplan keys revoke`.
`create` prints the new key once, on standard output; a lost key is
revoked and replaced, never recovered.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import time
from enum import StrEnum
from typing import Annotated

import typer
from redis import Redis
from redis.exceptions import RedisError
from rich.console import Console

from api.settings import SettingsError, load_settings
from api.store import PREFIX, connect, text, text_hash

logger = logging.getLogger(__name__)

TOKEN_PREFIX = "cpk"
KEY_INDEX = PREFIX + "apikeys"


class Role(StrEnum):
    dispatcher = "dispatcher"
    warehouse = "warehouse"
    planner = "planner"
    admin = "admin"


def apikey_key(key_id: str) -> str:
    return f"{PREFIX}apikey:{key_id}"


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def split_token(token: str) -> tuple[str, str] | None:
    """(key id, secret) of a well-formed token, else None."""
    prefix, _, rest = token.partition("_")
    key_id, _, secret = rest.partition("_")
    if prefix != TOKEN_PREFIX or not key_id or not secret:
        return None
    return key_id, secret


# ---------------------------------------------------------------- key admin


def create_key(redis: Redis, role: Role, sites: list[str]) -> tuple[str, str]:
    """Store a new key's hash and return (key id, the token, shown once).

    Raises
    ------
    ValueError
        When a warehouse key names no site, or another role names one.
    """
    if role == Role.warehouse and not sites:
        raise ValueError("--site is required for a warehouse key (one per site)")
    if role != Role.warehouse and sites:
        raise ValueError("--site applies to warehouse keys only")
    key_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    redis.hset(
        apikey_key(key_id),
        mapping={
            "secret_sha256": hash_secret(secret),
            "role": role.value,
            "sites": json.dumps(sorted(set(sites))),
            "created_at": f"{time.time():.0f}",
            "revoked": "0",
        },
    )
    redis.sadd(KEY_INDEX, key_id)
    logger.info("keys: created key %s with role %s", key_id, role.value)
    return key_id, f"{TOKEN_PREFIX}_{key_id}_{secret}"


def revoke_key(redis: Redis, key_id: str) -> bool:
    """Revoke a key; False when no such key exists."""
    if not redis.exists(apikey_key(key_id)):
        return False
    redis.hset(apikey_key(key_id), "revoked", "1")
    logger.info("keys: revoked key %s", key_id)
    return True


def list_keys(redis: Redis) -> list[dict[str, str]]:
    """Every key's id, role, sites and state (never a hash)."""
    rows = []
    for raw_id in sorted(redis.smembers(KEY_INDEX)):
        key_id = text(raw_id)
        data = text_hash(redis.hgetall(apikey_key(key_id)))
        if data:
            rows.append(
                {
                    "key_id": key_id,
                    "role": data["role"],
                    "sites": ",".join(json.loads(data["sites"])),
                    "revoked": "yes" if data["revoked"] == "1" else "no",
                }
            )
    return rows


# ------------------------------------------------------------ the command

keys_app = typer.Typer(help="Create, revoke and list API keys.", no_args_is_help=True)
err = Console(stderr=True)


def _redis() -> Redis:
    try:
        settings = load_settings()
    except SettingsError as exc:
        err.print(f"[red]error:[/red] {exc}", highlight=False)
        raise typer.Exit(2) from exc
    return connect(settings.redis_url)


def _unreachable(exc: RedisError) -> typer.Exit:
    err.print(f"[red]error:[/red] cannot reach Redis: {exc}", highlight=False)
    return typer.Exit(1)


@keys_app.command("create")
def create(
    role: Annotated[Role, typer.Option("--role", help="the key's role")],
    site: Annotated[
        list[str] | None,
        typer.Option("--site", help="a site a warehouse key may read (repeat)"),
    ] = None,
) -> None:
    """Make a key; it is printed once and only its hash is stored."""
    try:
        key_id, token = create_key(_redis(), role, site or [])
    except ValueError as exc:
        err.print(f"[red]error:[/red] {exc}", highlight=False)
        raise typer.Exit(2) from exc
    except RedisError as exc:
        raise _unreachable(exc) from exc
    err.print(f"key {key_id} ({role.value}) created; it is shown only this once:")
    typer.echo(token)


@keys_app.command("revoke")
def revoke(key_id: Annotated[str, typer.Argument(metavar="KEY_ID")]) -> None:
    """Revoke a key by its id (the part after `cpk_`)."""
    try:
        found = revoke_key(_redis(), key_id)
    except RedisError as exc:
        raise _unreachable(exc) from exc
    if not found:
        err.print(f"[red]error:[/red] no key with id '{key_id}'", highlight=False)
        raise typer.Exit(1)
    err.print(f"key {key_id} revoked")


@keys_app.command("list")
def list_command() -> None:
    """List keys: id, role, sites, revoked (never a secret)."""
    try:
        rows = list_keys(_redis())
    except RedisError as exc:
        raise _unreachable(exc) from exc
    for row in rows:
        typer.echo(f"{row['key_id']}\t{row['role']}\t{row['sites']}\t{row['revoked']}")
