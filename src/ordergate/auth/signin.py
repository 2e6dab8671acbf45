"""ScaleTrade sign-in: a login and a password become a signed session token.

A login names an account (a client session, type 0) or a manager or admin user (types 1 and
3). A wrong password and an unknown login are refused alike, after the same argon2 work, and
repeated failures are throttled per login and per client address.
"""

from __future__ import annotations

import math
from collections import OrderedDict, deque
from dataclasses import dataclass

from ordergate.auth.jwt import JwtCodec
from ordergate.auth.users import Credentials, UserService, verify_secret
from ordergate.domain.clock import Clock, SystemClock
from ordergate.domain.errors import AuthError, BadCredentials, SignInDisabled, Throttled
from ordergate.domain.principal import Principal, Role

__all__ = ["CLIENT", "SESSION_OF_ROLE", "Session", "SignIn", "Throttle"]

CLIENT = 0
#: The session type a staff user's role signs in to (2, dealer, is not offered).
SESSION_OF_ROLE = {Role.MANAGER: 1, Role.ADMIN: 3}
_REFUSED = "login or password is incorrect"


@dataclass(frozen=True, slots=True)
class Session:
    """A signed-in session: who it is and its token."""

    credentials: Credentials
    session_type: int
    token: str


class Throttle:
    """At most ``limit`` failures per key within ``window`` seconds; further attempts are
    refused until the oldest failure leaves the window. Keeps at most ``max_keys`` keys (the
    oldest are forgotten first), so that a spray of logins cannot grow it without bound."""

    def __init__(
        self, limit: int, window: float, clock: Clock | None = None, max_keys: int = 100_000
    ) -> None:
        self._limit = limit
        self._window = window
        self._clock: Clock = clock or SystemClock()
        self._max_keys = max_keys
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def _now(self) -> float:
        return self._clock.now().timestamp()

    def wait(self, key: str) -> int:
        """Seconds until ``key`` may try again (0: now)."""
        failures = self._failures.get(key)
        if failures is None:
            return 0
        now = self._now()
        while failures and failures[0] <= now - self._window:
            failures.popleft()
        if not failures:
            del self._failures[key]
            return 0
        if len(failures) < self._limit:
            return 0
        return max(1, math.ceil(failures[0] + self._window - now))

    def fail(self, key: str) -> None:
        failures = self._failures.setdefault(key, deque(maxlen=self._limit))
        failures.append(self._now())
        self._failures.move_to_end(key)
        while len(self._failures) > self._max_keys:
            self._failures.popitem(last=False)

    def forget(self, key: str) -> None:
        self._failures.pop(key, None)


class SignIn:
    """Checks sign-ins and issues session tokens; verifies tokens back into callers."""

    def __init__(
        self,
        users: UserService,
        jwt: JwtCodec,
        *,
        per_login: Throttle,
        per_address: Throttle,
    ) -> None:
        self._users = users
        self._jwt = jwt
        self._per_login = per_login
        self._per_address = per_address

    async def sign_in(self, login: int, password: str, address: str) -> Session:
        """A session for ``login``; ``Throttled``, ``BadCredentials`` (wrong password or
        unknown login, never saying which) or ``SignInDisabled`` (right password, disabled)."""
        login_key, address_key = f"login:{login}", f"addr:{address}"
        wait = max(self._per_login.wait(login_key), self._per_address.wait(address_key))
        if wait:
            raise Throttled(f"too many failed sign-ins; try again in {wait} s", wait)
        found = await self._users.credentials(login)
        # A trader has no staff login (add_user refuses one); refuse one from older data.
        if found is not None and found.user is not None and found.user.role not in SESSION_OF_ROLE:
            found = None
        password_hash = None if found is None else found.password_hash
        if not await verify_secret(password_hash, password) or found is None:
            self._per_login.fail(login_key)
            self._per_address.fail(address_key)
            raise BadCredentials(_REFUSED)
        if not found.enabled:
            raise SignInDisabled(f"login {login} is disabled")
        self._per_login.forget(login_key)
        if found.user is not None:
            session_type = SESSION_OF_ROLE[found.user.role]
            token = self._jwt.issue(login=login, user_id=found.user.id, session_type=session_type)
        else:
            session_type = CLIENT
            token = self._jwt.issue(login=login, session_type=CLIENT)
        return Session(found, session_type, token)

    async def principal(self, token: str) -> Principal:
        """The caller behind a session token: a client session acts on its login only, while
        the account and its owner are enabled; a staff session is its user as it is now (a
        changed role or a disabled user ends it)."""
        claims = self._jwt.verify(token)
        if claims.session_type == CLIENT:
            if claims.login is None or claims.user_id is not None:
                raise AuthError("invalid token: malformed claims")
            return await self._users.principal_for_login(claims.login)
        if claims.user_id is None:
            raise AuthError("invalid token: malformed claims")
        principal = await self._users.principal_for_user(claims.user_id)
        if SESSION_OF_ROLE.get(principal.role) != claims.session_type:
            raise AuthError("the session no longer matches the user's role; sign in again")
        return principal
