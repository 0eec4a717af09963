"""Service errors, named exactly like the error codes of the Personalize models."""

from __future__ import annotations


class ServiceError(Exception):
    """An error the caller sees; its class name is the wire error code."""

    #: HTTP status for restJson1 services when the model does not say; awsJson1_1 is always 400.
    http_status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    @property
    def code(self) -> str:
        return type(self).__name__


class InvalidInputException(ServiceError):
    pass


class ResourceNotFoundException(ServiceError):
    http_status = 404


class ResourceAlreadyExistsException(ServiceError):
    pass


class ResourceInUseException(ServiceError):
    http_status = 409


class LimitExceededException(ServiceError):
    pass


class InvalidNextTokenException(ServiceError):
    pass


class TooManyTagsException(ServiceError):
    pass


class TooManyTagKeysException(ServiceError):
    pass


class SerializationException(ServiceError):
    """The request body is not the JSON document the protocol requires."""


class UnknownOperationException(ServiceError):
    """No such operation or route (what AWS answers for an unknown X-Amz-Target or path)."""

    http_status = 404


class NotImplementedYetException(ServiceError):
    """A modelled operation that this version of Tailor does not serve yet (a client error, never a 5xx)."""


class InternalFailure(ServiceError):
    http_status = 500
