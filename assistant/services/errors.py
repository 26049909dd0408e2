"""Errors the service layer raises; each carries a message for the user in Chinese."""


class ServiceError(Exception):
    """Base class: a request that cannot be carried out. Nothing was changed."""


class NotFoundError(ServiceError):
    pass


class ForbiddenError(ServiceError):
    """Outside the caller's scope (another county or prison)."""


class StateError(ServiceError):
    """A transition that the follow-up's current state does not allow."""


class InvalidError(ServiceError):
    """Input that does not pass validation."""


class UnavailableError(ServiceError):
    """The service cannot answer now (warming up, or warm-up failed); nothing was stored."""


class ThrottledError(ServiceError):
    """Too many attempts (wrong passwords or officer PINs): refused for a while, nothing was checked."""
