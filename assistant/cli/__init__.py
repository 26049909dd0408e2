"""Command line `assistant` (one module per area; the entry point is `app`).

answering.py  ask, search, eval, calibrate
knowledge.py  knowledge check | import-statute, index build, model convert
followups.py  followups list | answer | deliver | close, faq draft | approve, log export
admin.py      users add | list | password | disable | enable, kiosks register | revoke | list
ops.py        db upgrade, backup create | restore, serve
shared.py     the root Typer class, common options and choices, the service runner
"""

from __future__ import annotations

from assistant.cli import admin, answering, followups, knowledge, ops
from assistant.cli.shared import Cli

app = Cli(add_completion=False, no_args_is_help=True, help="帮教问答 (Bangjiao Q&A)")
for _area in (answering, knowledge, followups, admin, ops):
    _area.register(app)

__all__ = ["app"]
