"""errors.py — oocsolve.Error, the exception every failing library call raises."""

STATUS_NAMES = ("OOC_OK", "OOC_ERR_NOMEM", "OOC_ERR_IO", "OOC_ERR_CSV", "OOC_ERR_FORMULA",
                "OOC_ERR_DATA", "OOC_ERR_HDF5", "OOC_ERR_CORRUPT", "OOC_ERR_INVALID_ARG",
                "OOC_ERR_NUMERIC", "OOC_ERR_BACKEND", "OOC_ERR_UNSUPPORTED",
                "OOC_ERR_INTERRUPTED", "OOC_ERR_INTERNAL", "OOC_ERR_REMOTE")


class Error(Exception):
    """A failure reported by liboocsolve.

    status: the ooc_status name (``"OOC_ERR_IO"``, ...; see oocsolve.h), code: its number,
    message: the library's message (file, row, column or dataset where they apply).
    """

    def __init__(self, status, message):
        self.code = status if isinstance(status, int) else STATUS_NAMES.index(status)
        self.status = STATUS_NAMES[self.code] if self.code < len(STATUS_NAMES) else str(status)
        self.message = message
        super().__init__(f"{self.status}: {message}")
