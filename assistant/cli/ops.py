"""Operations: `db upgrade`, `backup create|restore`, `serve`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from assistant.cli.shared import err, service
from assistant.core.config import get_settings

db_app = typer.Typer(no_args_is_help=True, help="Database schema.")
backup_app = typer.Typer(no_args_is_help=True, help=(
    "备份与恢复：数据库（全部表）和知识库。Back up and restore the database and the knowledge base. "
    "Not included: the search index and the converted model, which are rebuilt from the knowledge base."))


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the database schema to the newest version."""
    from assistant.storage.db import upgrade

    url = get_settings().database_url
    upgrade(url)
    typer.echo(f"数据库已是最新结构：{url.split('@')[-1]}")


@backup_app.command("create")
def backup_create(out: Annotated[Path, typer.Argument(help="备份文件，如 bangjiao-20261122.tar.gz（不会覆盖已有文件）")]
                  ) -> None:
    """Back up the database and the knowledge base into one .tar.gz (not the index or the model: rebuilt).

    Every table as JSON lines, the knowledge files and spooled log records, with a manifest (schema revision,
    row counts, SHA-256). Not included: the search index and the converted model, which are rebuilt from the
    knowledge base. The tables are read as one snapshot: the service may keep running."""
    from assistant.backup import BackupError, create_backup, public_url

    settings = get_settings()
    try:
        manifest = create_backup(settings.database_url, settings.knowledge_dir, settings.spool_path, out)
    except BackupError as exc:
        raise err(f"备份失败：{exc}", 2) from exc
    typer.echo(f"已备份 → {out}\n  数据库 {public_url(settings.database_url)}（结构版本 {manifest.revision}）："
               f"{len(manifest.tables)} 个表，共 {sum(manifest.rows.values())} 行\n"
               f"  知识库 {settings.knowledge_dir}：{len(manifest.knowledge)} 个文件\n"
               + ("  暂存的问题记录：已包含\n" if manifest.spool else "")
               + "  未包含：检索索引和转换后的模型（由知识库重建）")


@backup_app.command("restore")
def backup_restore(
    archive: Path,
    data_dir: Annotated[Path, typer.Option("--data-dir", help="目标数据目录（SQLite 数据库、暂存文件）")],
    knowledge_dir: Annotated[Path | None, typer.Option("--knowledge-dir", help="目标知识库目录；默认按设置")] = None,
    force: Annotated[bool, typer.Option("--force", help="目标已有数据时仍恢复（原有数据先另存到 DATA_DIR/backups/）")]
    = False,
) -> None:
    """Restore a backup into a data directory and knowledge folder (refuses existing data unless --force).

    The database is BANGJIAO_DATABASE_URL if set, else DATA_DIR/bangjiao.db. Every checksum is verified before
    anything is written. Stop the service first. The search index and the converted model are not in the
    archive: they are rebuilt from the knowledge base on the next start (or with `assistant index build`)."""
    from assistant.backup import BackupError, public_url, restore_backup

    base = get_settings()
    settings = base.model_copy(update={"data_dir": data_dir, "knowledge_dir": knowledge_dir or base.knowledge_dir})
    try:
        result = restore_backup(archive, settings.database_url, settings.knowledge_dir, settings.spool_path,
                                force=force, safety_dir=settings.data_dir / "backups")
    except BackupError as exc:
        raise err(f"恢复失败：{exc}", 2) from exc
    m = result.manifest
    if result.safety_backup:
        typer.echo(f"原有数据已另存 → {result.safety_backup}")
    typer.echo(f"已恢复 {archive}（{m.created_at} 备份，结构版本 {m.revision}）\n"
               f"  数据库 {public_url(settings.database_url)}：{len(m.tables)} 个表，共 {sum(m.rows.values())} 行\n"
               f"  知识库 {settings.knowledge_dir}：{len(m.knowledge)} 个文件\n"
               "  检索索引将在下次启动服务时由知识库重建（也可运行 assistant index build）")


def serve(host: str = "127.0.0.1", port: int = 8000,
          demo_kiosk: Annotated[bool, typer.Option(help="没有任何终端时登记一台演示终端并显示登记码")] = False) -> None:
    """Start the kiosk service (FastAPI + uvicorn); the index is built or refreshed before questions are taken."""
    from assistant.api.server import configure_logging

    configure_logging()
    if demo_kiosk:
        from assistant.services.kiosks import count_kiosks, register

        def ensure(rt, s):
            if not count_kiosks(s):
                reg = register(s, "演示监狱", "演示终端")
                typer.echo(f"已登记演示终端。终端登记码：{reg.token}  民警口令：{reg.pin}")
        service(ensure)
    from assistant.embedding.embedder import set_torch_threads
    from assistant.runtime import Runtime

    set_torch_threads(get_settings().server_torch_threads)
    runtime = Runtime(get_settings())
    runtime.load_model_in_background()  # while the web framework is imported and the app built (warm-up waits)
    import uvicorn

    from assistant.api.main import create_app
    from assistant.api.server import serve_config

    typer.echo(f"帮教问答服务：http://{host}:{port}/kiosk  （值班民警：/officer，工作平台：/portal/，接口文档：/docs）")
    uvicorn.Server(serve_config(create_app(runtime=runtime), get_settings(), host, port)).run()


def register(app: typer.Typer) -> None:
    """Add these commands to the root command line."""
    app.add_typer(db_app, name="db")
    app.add_typer(backup_app, name="backup")
    app.command()(serve)
