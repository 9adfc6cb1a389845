"""Passwords: argon2id hashes, the rules a new password must meet, and logins' spelling."""

import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from core.errors import InvalidInput

MIN_LENGTH = 8
_LOGIN = re.compile(r"^[a-z0-9][a-z0-9._@-]{1,63}$")

# argon2-cffi's defaults are argon2id with RFC 9106's low-memory profile (64 MiB, 3 passes).
_hasher = PasswordHasher()
# Checked against when the login is unknown, so that an unknown login costs the same time
# as a wrong password and the two cannot be told apart.
_DUMMY_HASH = _hasher.hash("no such login: a dummy that is never matched")


def normalize_login(login: str) -> str:
    """The stored spelling of a login: trimmed and lower-case."""
    return login.strip().lower()


def check_login(login: str) -> str:
    """The normalized login, or a 422 saying what a login may contain."""
    normal = normalize_login(login)
    if not _LOGIN.match(normal):
        raise InvalidInput(
            "登录名须为 2–64 位小写字母、数字或 . _ @ -，且以字母或数字开头", field="login"
        )
    return normal


# 等保 2.0 level 3 asks for complex passwords: at least three of these four kinds.
CLASSES = 3
_KINDS = (str.isupper, str.islower, str.isdigit)
RULES = f"至少 {MIN_LENGTH} 个字符，且含大写字母、小写字母、数字、符号中的至少 {CLASSES} 类"


def _kinds(password: str) -> int:
    kinds = {i for char in password for i, test in enumerate(_KINDS) if test(char)}
    if any(not char.isalnum() for char in password):
        kinds.add(len(_KINDS))
    return len(kinds)


def check_password(password: str) -> None:
    """Refuse a password that is short or simple, saying what a good one needs."""
    if len(password) < MIN_LENGTH:
        raise InvalidInput(f"密码至少 {MIN_LENGTH} 个字符", field="password")
    if password.isdigit():
        raise InvalidInput("密码不能全是数字，请加入字母或符号", field="password")
    if _kinds(password) < CLASSES:
        raise InvalidInput(f"密码过于简单：{RULES}", field="password")


def hash_password(password: str) -> str:
    """The argon2id hash to store."""
    return _hasher.hash(password)


def verify(password: str, stored: str | None) -> bool:
    """Whether the password matches the stored hash; with none stored, as slow and False."""
    try:
        return _hasher.verify(stored or _DUMMY_HASH, password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    """Whether the hash was made with weaker parameters than today's."""
    return _hasher.check_needs_rehash(stored)
