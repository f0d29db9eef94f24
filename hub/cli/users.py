"""hub user: console users and API tokens."""

from __future__ import annotations

import sys

import typer
from sqlalchemy import select, update

from hub.cli.common import OutputFormat, audit, cli_actor, emit, err_console, fail, store
from hub.config import get_settings
from hub.i18n import tr
from hub.web.auth import AuthError, add_user, bind_sites, bound_codes, find_user, new_api_token, unlock
from hub.web.models import ROLES, ApiToken, User

app = typer.Typer(help=tr("Pengguna konsol web dan token API.", "Web console users and API tokens."),
                  no_args_is_help=True)


@app.command("add")
def user_add(
    username: str = typer.Argument(..., help="nama pengguna"),
    role: str = typer.Option(..., "--role", help=" | ".join(ROLES)),
    full_name: str = typer.Option("", "--name", help="nama lengkap"),
    password_stdin: bool = typer.Option(False, "--password-stdin",
                                        help="baca kata sandi dari stdin (untuk skrip), bukan dari prompt"),
    sites: list[str] = typer.Option([], "--site", help="kantor yang dilayani (boleh berulang; wajib untuk operator)"),
) -> None:
    """Tambah pengguna konsol web. Kata sandi ditanyakan (tidak tampil) atau dibaca dari stdin;
    tidak pernah dari argumen, agar tidak terlihat di daftar proses."""
    password = _read_password(password_stdin)
    with store() as s:
        try:
            user = add_user(s, username, password, role, full_name)
            codes = bind_sites(s, user, sites)
        except AuthError as exc:
            fail(str(exc))
        audit(s, cli_actor(), "user.add", "user", user.id, username=user.username, role=role, sites=codes)
    typer.echo(tr(f"Pengguna {user.username} ({role}) dibuat.", f"User {user.username} ({role}) created."))


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return typer.prompt(tr("Kata sandi", "Password"), hide_input=True, confirmation_prompt=True)


@app.command("token")
def user_token(username: str = typer.Argument(...),
               name: str = typer.Option("", "--name", help="untuk integrasi apa"),
               days: int | None = typer.Option(None, "--days", help="masa berlaku (hari); bawaan web.api_token_days")
               ) -> None:
    """Buat token API untuk pengguna (ditampilkan sekali saja; berlaku sekian hari)."""
    days = get_settings().web.api_token_days if days is None else days
    with store() as s:
        try:
            user = find_user(s, username)
            token = new_api_token(s, user, name, days)
        except AuthError as exc:
            fail(str(exc), tr("lihat `hub user list`", "see `hub user list`"))
        audit(s, cli_actor(), "token.add", "user", user.id, name=name, days=days)
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
                 "offices": ", ".join(bound_codes(s, u.id)) or tr("(semua)", "(all)"),
                 "active": "ya" if u.active else "tidak", "last_login": u.last_login_at}
                for u in s.scalars(select(User).order_by(User.username))]
    emit(rows, ["username", "name", "role", "offices", "active", "last_login"], fmt, title=tr("Pengguna", "Users"))


@app.command("bind")
def user_bind(username: str = typer.Argument(...),
              sites: list[str] = typer.Option([], "--site",
                                              help="kantor (boleh berulang); tanpa --site: semua")) -> None:
    """Tetapkan kantor yang dilayani pengguna: ia melihat kantor itu dan unit di bawahnya saja."""
    with store() as s:
        try:
            user = find_user(s, username)
            codes = bind_sites(s, user, sites)
        except AuthError as exc:
            fail(str(exc))
        audit(s, cli_actor(), "user.bind", "user", user.id, username=user.username, sites=codes)
    shown = ", ".join(codes)
    typer.echo(tr(f"{username}: {shown or 'semua kantor'}.", f"{username}: {shown or 'all offices'}."))


@app.command("revoke")
def user_revoke(username: str = typer.Argument(...),
                name: str | None = typer.Option(None, "--name", help="hanya token dengan nama ini")) -> None:
    """Cabut token API pengguna (semua, atau yang bernama --name)."""
    with store() as s:
        try:
            user = find_user(s, username)
        except AuthError as exc:
            fail(str(exc))
        q = update(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked.is_(False))
        if name is not None:
            q = q.where(ApiToken.name == name)
        n = s.execute(q.values(revoked=True)).rowcount
        audit(s, cli_actor(), "token.revoke", "user", user.id, name=name, count=n)
    typer.echo(tr(f"{n} token dicabut.", f"{n} token(s) revoked."))


@app.command("unlock")
def user_unlock(username: str = typer.Argument(...)) -> None:
    """Buka kunci masuk pengguna setelah terlalu banyak percobaan gagal (juga kunci per alamat)."""
    with store() as s:
        try:
            user = unlock(s, username)
        except AuthError as exc:
            fail(str(exc))
        audit(s, cli_actor(), "user.unlock", "user", user.id)
    typer.echo(tr(f"Kunci masuk {username} dibuka.", f"Sign-in of {username} unlocked."))


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
