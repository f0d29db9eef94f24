"""hub user: console users and API tokens."""

from __future__ import annotations

import typer
from sqlalchemy import select

from hub.cli.common import OutputFormat, audit, cli_actor, emit, err_console, fail, store
from hub.i18n import tr
from hub.web.auth import AuthError, add_user, find_user, new_api_token
from hub.web.models import ROLES, User

app = typer.Typer(help=tr("Pengguna konsol web dan token API.", "Web console users and API tokens."),
                  no_args_is_help=True)


@app.command("add")
def user_add(
    username: str = typer.Argument(..., help="nama pengguna"),
    role: str = typer.Option(..., "--role", help=" | ".join(ROLES)),
    full_name: str = typer.Option("", "--name", help="nama lengkap"),
    password: str = typer.Option(..., "--password", prompt=True, hide_input=True,
                                 confirmation_prompt=True, help="kata sandi (ditanyakan bila kosong)"),
) -> None:
    """Tambah pengguna konsol web (kata sandi ditanyakan, tidak pernah ditampilkan)."""
    with store() as s:
        try:
            user = add_user(s, username, password, role, full_name)
        except AuthError as exc:
            fail(str(exc))
        audit(s, cli_actor(), "user.add", "user", user.id, username=user.username, role=role)
    typer.echo(tr(f"Pengguna {user.username} ({role}) dibuat.", f"User {user.username} ({role}) created."))


@app.command("token")
def user_token(username: str = typer.Argument(...),
               name: str = typer.Option("", "--name", help="untuk integrasi apa")) -> None:
    """Buat token API untuk pengguna (ditampilkan sekali saja)."""
    with store() as s:
        try:
            user = find_user(s, username)
            token = new_api_token(s, user, name)
        except AuthError as exc:
            fail(str(exc), tr("lihat `hub user list`", "see `hub user list`"))
        audit(s, cli_actor(), "token.add", "user", user.id, name=name)
    typer.echo(token)
    err_console.print(tr("Simpan token ini sekarang; hub hanya menyimpan sidiknya dan tidak dapat "
                         "menampilkannya lagi.",
                         "Store this token now; the hub keeps only its digest and cannot show it again."),
                      style="yellow")


@app.command("list")
def user_list(fmt: OutputFormat = typer.Option(OutputFormat.table, "--format")) -> None:
    """Daftar pengguna."""
    with store() as s:
        rows = [{"username": u.username, "name": u.full_name, "role": u.role,
                 "active": "ya" if u.active else "tidak", "last_login": u.last_login_at}
                for u in s.scalars(select(User).order_by(User.username))]
    emit(rows, ["username", "name", "role", "active", "last_login"], fmt, title=tr("Pengguna", "Users"))


@app.command("disable")
def user_disable(username: str = typer.Argument(...)) -> None:
    """Nonaktifkan pengguna (sesi dan tokennya berhenti berlaku)."""
    with store() as s:
        try:
            user = find_user(s, username)
        except AuthError as exc:
            fail(str(exc))
        user.active = False
        audit(s, cli_actor(), "user.disable", "user", user.id)
    typer.echo(tr(f"Pengguna {username} dinonaktifkan.", f"User {username} disabled."))
