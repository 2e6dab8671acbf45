"""The one exception tree of ordergate.

Every business rule that refuses something raises one of these; each dialect maps the tree to
its own status codes and bodies in one place (``api/<dialect>/errors.py``)::

    DomainError                      base; ``code`` is a stable machine-readable name
    ├── InvalidInput                 a value is malformed or out of range (bad quantity, price...)
    │   ├── InvalidQuantity          not positive, outside lot limits or off the lot step
    │   └── InvalidPrice             not positive, off the tick grid, or missing for the type
    │       └── InvalidStops         a stop-loss or take-profit on the wrong side of the price
    ├── NotFound                     a thing does not exist (or the caller may not know it does)
    │   ├── AccountNotFound
    │   ├── InstrumentNotFound
    │   ├── OrderNotFound
    │   ├── PositionNotFound
    │   └── UserNotFound
    ├── Conflict                     the thing exists but its state forbids the request
    │   ├── InvalidOrderTransition   the state machine refuses "<from> -> <to>"
    │   ├── OrderLocked              the venue is still processing the order
    │   ├── OrderNotCancellable      terminal (filled: a trade now, not an order) ...
    │   │   └── AlreadyPendingCancel ... or a cancel is already pending
    │   ├── AlreadyExists            a unique name or login is taken
    │   └── StaleOrder               a concurrent writer changed the order first
    ├── Rejected                     a pre-trade check refused the order
    │   ├── AccountDisabled
    │   ├── AccountLocked            risk: a stopped monitor, a kill switch, outside its windows
    │   ├── InsufficientMargin
    │   ├── MarketClosed
    │   ├── NoQuote                  no price to act at (or to value a trade at)
    │   ├── PositionRequired         the position in the instrument is not one the order allows
    │   └── MaxPositions             the account holds as many positions as the order allows
    ├── AuthError                    the caller is not who it claims (bad token, expired JWT)
    │   ├── BadCredentials           a sign-in's login or password is wrong (never says which)
    │   └── SignInDisabled           the password is right but the account or user is disabled
    ├── PermissionDenied             the caller may not act on this account
    └── Throttled                    too many attempts (sign-in failures); try again later
"""

from __future__ import annotations

__all__ = [
    "AccountDisabled",
    "AccountLocked",
    "AccountNotFound",
    "AlreadyExists",
    "AlreadyPendingCancel",
    "AuthError",
    "BadCredentials",
    "Conflict",
    "DomainError",
    "InstrumentNotFound",
    "InsufficientMargin",
    "InvalidInput",
    "InvalidOrderTransition",
    "InvalidPrice",
    "InvalidQuantity",
    "InvalidStops",
    "MarketClosed",
    "MaxPositions",
    "NoQuote",
    "NotFound",
    "OrderLocked",
    "OrderNotCancellable",
    "OrderNotFound",
    "PermissionDenied",
    "PositionNotFound",
    "PositionRequired",
    "Rejected",
    "SignInDisabled",
    "StaleOrder",
    "Throttled",
    "UserNotFound",
]


class DomainError(Exception):
    """Base of every business error; ``code`` is stable, ``message`` is for people."""

    code = "DOMAIN_ERROR"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInput(DomainError):
    code = "INVALID_INPUT"


class InvalidQuantity(InvalidInput):
    code = "INVALID_QUANTITY"


class InvalidPrice(InvalidInput):
    code = "INVALID_PRICE"


class InvalidStops(InvalidPrice):
    code = "INVALID_STOPS"


class NotFound(DomainError):
    code = "NOT_FOUND"


class AccountNotFound(NotFound):
    code = "ACCOUNT_NOT_FOUND"


class InstrumentNotFound(NotFound):
    code = "INSTRUMENT_NOT_FOUND"


class OrderNotFound(NotFound):
    code = "ORDER_NOT_FOUND"


class PositionNotFound(NotFound):
    code = "POSITION_NOT_FOUND"


class UserNotFound(NotFound):
    code = "USER_NOT_FOUND"


class Conflict(DomainError):
    code = "CONFLICT"


class InvalidOrderTransition(Conflict):
    code = "INVALID_TRANSITION"


class OrderLocked(Conflict):
    code = "ORDER_LOCKED"


class OrderNotCancellable(Conflict):
    code = "ORDER_NOT_CANCELLABLE"


class AlreadyPendingCancel(OrderNotCancellable):
    # Keeps its parent's code: CrossTrade clients see the same code as before.
    pass


class AlreadyExists(Conflict):
    code = "ALREADY_EXISTS"


class StaleOrder(Conflict):
    code = "STALE_ORDER"


class Rejected(DomainError):
    code = "REJECTED"


class AccountDisabled(Rejected):
    code = "ACCOUNT_DISABLED"


class AccountLocked(Rejected):
    """The account (or the user) opens nothing now; closing orders and cancels still pass."""

    code = "ACCOUNT_LOCKED"


class InsufficientMargin(Rejected):
    code = "INSUFFICIENT_MARGIN"


class MarketClosed(Rejected):
    code = "MARKET_CLOSED"


class NoQuote(Rejected):
    code = "NO_QUOTE"


class PositionRequired(Rejected):
    code = "POSITION_REQUIREMENT_NOT_MET"


class MaxPositions(Rejected):
    code = "MAX_POSITIONS_REACHED"


class AuthError(DomainError):
    code = "UNAUTHENTICATED"


class PermissionDenied(DomainError):
    code = "PERMISSION_DENIED"


class BadCredentials(AuthError):
    code = "BAD_CREDENTIALS"


class SignInDisabled(AuthError):
    code = "SIGN_IN_DISABLED"


class Throttled(DomainError):
    code = "THROTTLED"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        #: whole seconds until an attempt can succeed
        self.retry_after = retry_after
