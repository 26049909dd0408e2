"""Administration: `users add|list|password|disable|enable`, `kiosks register|revoke|list`."""

from __future__ import annotations

from typing import Annotated

import typer

from assistant.cli.shared import Role, cli_actor, err, region_code, service

users_app = typer.Typer(no_args_is_help=True, help="Portal accounts (admin, prison staff, bureau staff).")
kiosks_app = typer.Typer(no_args_is_help=True, help="Registered kiosk devices.")

PasswordStdin = Annotated[bool, typer.Option(help="从标准输入读密码（脚本用）")]


@kiosks_app.command("register")
def kiosks_register(prison: Annotated[str, typer.Option(help="监狱名称")],
                    name: Annotated[str, typer.Option(help="终端名称，如 教育室1号")]) -> None:
    """Register a kiosk: prints its device code and the officer PIN once (only hashes are stored)."""
    from assistant.services.kiosks import register

    def run(rt, s):
        return register(s, prison, name, by=cli_actor())
    reg = service(run)
    typer.echo(f"终端 #{reg.kiosk_id} 已登记。\n终端登记码（在终端上输入一次）：{reg.token}\n"
               f"民警口令（开启/结束问答用）：{reg.pin}\n请妥善保管，系统不再显示。")


@kiosks_app.command("revoke")
def kiosks_revoke(kiosk_id: int) -> None:
    """Stop a kiosk: its device code no longer works."""
    from assistant.services.kiosks import revoke

    def run(rt, s):
        revoke(s, kiosk_id, by=cli_actor())
    service(run)
    typer.echo(f"终端 #{kiosk_id} 已停用")


@kiosks_app.command("list")
def kiosks_list() -> None:
    """Kiosks with their prison, state and last activity."""
    from assistant.services.kiosks import list_kiosks

    def run(rt, s):
        for k in sorted(list_kiosks(s), key=lambda k: k.id):
            state = "已停用" if k.revoked_at else "在用"
            seen = k.last_seen_at.strftime("%Y-%m-%d %H:%M") if k.last_seen_at else "从未使用"
            typer.echo(f"#{k.id} {k.prison} {k.name} [{state}] 最近活动：{seen}")
    service(run)


def _read_password(from_stdin: bool) -> str:
    """A new password from stdin (scripts) or typed twice without echo; too short exits with code 2."""
    import sys

    from assistant.services.errors import InvalidError
    from assistant.services.users import check_password_strength

    if from_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt("密码（至少 10 个字符）", hide_input=True, confirmation_prompt=True)
    try:
        check_password_strength(password)
    except InvalidError as exc:
        raise err(f"错误：{exc}", 2) from exc
    return password


@users_app.command("add")
def users_add(username: str,
              role: Annotated[Role, typer.Option(help="admin（系统管理员）| prison（监狱民警）| bureau（司法局）")],
              name: Annotated[str, typer.Option(help="姓名")] = "",
              prison: Annotated[str | None, typer.Option(help="监狱名称（prison 账号必填）")] = None,
              county: Annotated[str | None, typer.Option(help="县（区）名称或代码（bureau 账号必填）")] = None,
              password_stdin: PasswordStdin = False) -> None:
    """Create a portal account, e.g. the first admin: assistant users add admin --role admin."""
    from assistant.services.users import add_user

    password = _read_password(password_stdin)

    def run(rt, s):
        code = region_code(rt, county) if county else None
        counties = [r.code for r in rt.regions.bindable()]
        return add_user(s, username, password, role.value, name, prison, code, known_regions=counties,
                        by=cli_actor())
    user = service(run)
    typer.echo(f"已新建账号 {user.username}（{role.value}）。登录地址：/portal/login")


@users_app.command("list")
def users_list() -> None:
    """Accounts with role, scope and state."""
    from assistant.services.users import ROLE_NAMES, list_users

    def run(rt, s):
        for u in list_users(s):
            state = "已停用" if u.disabled_at else "正常"
            typer.echo(f"#{u.id} {u.username} {ROLE_NAMES[u.role]} {u.prison or u.region_code or '全部'} [{state}]")
    service(run)


@users_app.command("password")
def users_password(username: str, password_stdin: PasswordStdin = False) -> None:
    """Set a new password for an account (e.g. the only admin forgot it); its sessions end."""
    from assistant.services.users import get_by_username, set_password

    password = _read_password(password_stdin)

    def run(rt, s):
        user = get_by_username(s, username)
        set_password(s, user.id, password, by=cli_actor())
    service(run)
    typer.echo(f"账号 {username} 的密码已重设")


def _set_disabled(username: str, disabled: bool) -> None:
    from assistant.services.users import get_by_username, set_disabled

    def run(rt, s):
        user = get_by_username(s, username)
        set_disabled(s, user.id, disabled, by=cli_actor())
    service(run)


@users_app.command("disable")
def users_disable(username: str) -> None:
    """Disable an account (its sessions end at once)."""
    _set_disabled(username, True)
    typer.echo(f"账号 {username} 已停用")


@users_app.command("enable")
def users_enable(username: str) -> None:
    """Enable a disabled account again (it signs in with its old password)."""
    _set_disabled(username, False)
    typer.echo(f"账号 {username} 已启用")


def register(app: typer.Typer) -> None:
    """Add these command groups to the root command line."""
    app.add_typer(users_app, name="users")
    app.add_typer(kiosks_app, name="kiosks")
