"""Credentials never leave the process: `redact` hides the password of every URI in a text.

`--tracking-uri postgresql://user:password@host/db` (or an Optuna `--storage` URL, or
`http://user:token@mlflow-server`) is needed to connect, but it must not land in a message, a
report, a dumped config, a checkpoint's meta or an MLflow artifact. Everything the pipeline prints
or writes that may hold a URI goes through `redact`; the tracking URI itself reaches training
processes through the environment (`MLFLOW_TRACKING_URI`), never through a dumped config.
"""
from __future__ import annotations

import re

# scheme://user:password@  — the password is everything up to the last '@' before a '/', a
# space or a quote (a raw '@' in a password is common, though it should be percent-encoded).
_USERINFO = re.compile(r"(?P<head>\b[A-Za-z][A-Za-z0-9+.\-]*://[^:/?#@\s'\"]*):(?P<password>[^\s'\"/]*)@")

HIDDEN = "***"


def redact(text) -> str:
    """`text` (any object, as `str`) with the password of every `scheme://user:password@` hidden."""
    return _USERINFO.sub(lambda m: f"{m['head']}:{HIDDEN}@", str(text))
