"""Named errors raised by the lower layers; wiki/views/errors.py turns them into responses."""


class WikiError(Exception):
    """Base of every error a user can cause; `status` is the HTTP status it maps to."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str = ""):
        super().__init__(message or self.__class__.__doc__ or self.code)
        self.message = message or (self.__class__.__doc__ or self.code).strip()


class InvalidPath(WikiError):
    """This page name is not allowed."""

    code = "invalid_path"


class InvalidRevision(WikiError):
    """A revision must be a commit id (hex) or HEAD."""

    code = "invalid_revision"


class InvalidInput(WikiError):
    """The request is not valid."""

    code = "invalid_input"


class PageTooLarge(WikiError):
    """The page is larger than this wiki allows."""

    status = 413
    code = "too_large"


class NotFound(WikiError):
    """Not found."""

    status = 404
    code = "not_found"


class PageNotFound(NotFound):
    """This page does not exist."""


class RevisionNotFound(NotFound):
    """This revision of the page does not exist."""


class PageExists(WikiError):
    """A page with this name already exists."""

    status = 409
    code = "page_exists"


class EditConflict(WikiError):
    """The page changed since you started editing and the changes overlap."""

    status = 409
    code = "edit_conflict"

    def __init__(self, base: str, theirs: str, yours: str, merged_with_markers: str,
                 head_revision: str):
        super().__init__()
        self.base = base
        self.theirs = theirs
        self.yours = yours
        self.merged_with_markers = merged_with_markers
        self.head_revision = head_revision


class Unauthorized(WikiError):
    """Please log in."""

    status = 401
    code = "unauthorized"


class PermissionDenied(WikiError):
    """You may not do this."""

    status = 403
    code = "forbidden"


class RepositoryBusy(WikiError):
    """The wiki is busy; please try again."""

    status = 503
    code = "busy"


class UnresolvedConflict(InvalidInput):
    """The text still contains conflict markers (<<<<<<< yours … >>>>>>> theirs). Choose
    what to keep for each change, or remove the markers, before saving."""

    code = "unresolved_conflict"
