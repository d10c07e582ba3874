"""Who uses a shared server, and which of its folders they may read.

Sign-in is Streamlit's own (st.login / st.user, configured by an [auth] section of .streamlit/secrets.toml);
the pages hand what Streamlit knows to the functions here, which never import streamlit. The signed-in
person is the *acting user* of a script run or a background job (`acting_as`, `current_user`): the catalogue
records them on what is built, trained, classified and deleted. Without sign-in there is no acting user.

A page may read server folders only below the roots an administrator names in ARTCNN_COLLECTIONS
(`allowed_roots`, default none); `check_server_folder` resolves a typed path (`..`, symlinks) before
checking it. The CLI runs as its own user and is not limited.
"""

from __future__ import annotations

import getpass
import os
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Iterable, Iterator, Mapping, Sequence

COLLECTIONS_VARIABLE = "ARTCNN_COLLECTIONS"
# The keys of an [auth] section (or of one of its [auth.<provider>] sections) that name a sign-in provider.
PROVIDER_KEYS = ("client_id", "server_metadata_url")
# What the signed-in user is recorded as, by preference: the first of these st.user holds.
USER_KEYS = ("email", "preferred_username", "name", "sub")

_ACTING: ContextVar[str | None] = ContextVar("artcnn_acting_user", default=None)


def current_user() -> str | None:
    """Who does the work of this thread now (set by `acting_as` or `set_current_user`); None without sign-in."""
    return _ACTING.get()


def set_current_user(user: str | None) -> None:
    """Make `user` the acting user of this thread until it ends (a Streamlit script run has its own thread)."""
    if user is not None and not isinstance(user, str):
        raise ValueError(f"user must be a string or None. Received: user={user!r}")
    _ACTING.set(user)


def account_name() -> str | None:
    """The operating-system account running this process (the command line's acting user), if it has one."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # a container user with no name
        return None


@contextmanager
def acting_as(user: str | None) -> Iterator[None]:
    """Make `user` the acting user of this thread inside the block (a background job's whole task)."""
    if user is not None and not isinstance(user, str):
        raise ValueError(f"user must be a string or None. Received: user={user!r}")
    token = _ACTING.set(user)
    try:
        yield
    finally:
        _ACTING.reset(token)


def sign_in_providers(auth: Mapping | None) -> list[str | None]:
    """The providers an [auth] section of secrets.toml configures: None for the section's own (st.login()),
    then the name of each [auth.<name>] subsection that names one (st.login(name)). Empty: no sign-in."""
    if not auth:
        return []
    providers: list[str | None] = [None] if any(key in auth for key in PROVIDER_KEYS) else []
    providers += sorted(str(name) for name, value in auth.items()
                        if isinstance(value, Mapping) and any(key in value for key in PROVIDER_KEYS))
    return providers


def user_name(user_info: Mapping | None) -> str | None:
    """Who st.user says is signed in (its to_dict()), by the first of USER_KEYS it holds; None when nobody is."""
    if not user_info or user_info.get("is_logged_in") is not True:
        return None
    for key in USER_KEYS:
        value = user_info.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return "signed-in user"


def allowed_roots(environ: Mapping[str, str] | None = None) -> list[Path]:
    """The folders (resolved, existing) below which pages may read: ARTCNN_COLLECTIONS, a list separated by
    os.pathsep (":" on Linux and macOS). Empty, unset or naming no existing folder: none, and the pages hide
    the server-folder option."""
    text = (os.environ if environ is None else environ).get(COLLECTIONS_VARIABLE, "")
    roots: list[Path] = []
    for part in text.split(os.pathsep):
        if not part.strip():
            continue
        root = Path(part.strip()).expanduser().resolve()
        if root.is_dir() and root not in roots:
            roots.append(root)
    return roots


def inside(path: str | os.PathLike, roots: Sequence[Path]) -> bool:
    """Whether `path`, resolved (symlinks followed, `..` removed), lies in one of `roots` (or is one)."""
    resolved = Path(path).resolve()
    return any(resolved.is_relative_to(Path(root).resolve()) for root in roots)


def files_inside(files: Iterable[Path], roots: Sequence[Path]) -> tuple[list[Path], list[Path]]:
    """`files` split into those that lie inside `roots` once resolved and those that do not: a link inside an
    allowed folder may point anywhere the server can read."""
    kept: list[Path] = []
    outside: list[Path] = []
    for file in files:
        (kept if inside(file, roots) else outside).append(file)
    return kept, outside


def check_server_folder(text: str, roots: Sequence[Path]) -> Path:
    """The folder a user typed, resolved, when it lies inside one of `roots`; else a ValueError in the user's
    words. A relative path is read inside the first root holding it. The check comes before the folder is
    looked at, so a refused path tells nothing about what exists outside the roots."""
    if not isinstance(text, str):
        raise ValueError(f"the folder must be typed as text. Received: text={text!r}")
    if not roots:
        raise ValueError("This server reads no folders of its own: an administrator names the collections it "
                         f"may read in {COLLECTIONS_VARIABLE}. Upload the artworks instead.")
    typed = text.strip()
    if not typed:
        raise ValueError("Type the path of a folder inside " + _listed(roots) + ".")
    given = Path(typed).expanduser()
    if given.is_absolute():
        candidates = [given]
    else:
        candidates = [Path(root) / given for root in roots]
        candidates = [path for path in candidates if path.exists()] or candidates[:1]
    folder = candidates[0].resolve()
    if not inside(folder, roots):
        raise ValueError(f"The folder {typed!r} is outside the collections this server may read: choose a folder "
                         f"inside {_listed(roots)}.")
    if not folder.is_dir():
        raise ValueError(f"There is no folder {typed!r} in the collections this server may read "
                         f"({_listed(roots)}).")
    return folder


def _listed(roots: Sequence[Path]) -> str:
    return " or ".join(f"'{root}'" for root in roots)
