/* The one table of error codes: their symbolic names and their text. */
#include "craft/errors.h"

#include <stddef.h>

struct error_row {
    const char *name;
    const char *text;
};

/* Indexed by -code. */
static const struct error_row error_table[] = {
    {"CRAFT_OK", "success"},
    {"CRAFT_ENOMEM", "out of memory"},
    {"CRAFT_EINVAL", "invalid argument"},
    {"CRAFT_ENOTLEADER", "not the leader"},
    {"CRAFT_EBUSY", "busy: a queue or window is full"},
    {"CRAFT_ESHUTDOWN", "shutting down"},
    {"CRAFT_ECORRUPT", "data is corrupt"},
    {"CRAFT_EIO", "I/O error"},
    {"CRAFT_ENOSPC", "no space left on device"},
    {"CRAFT_EUNKNOWN", "outcome unknown: leadership lost after append"},
    {"CRAFT_ETOOBIG", "too big"},
    {"CRAFT_EMISMATCH", "belongs to another node or cluster"},
    {"CRAFT_ECOMPACTED", "log entries compacted away"},
    {"CRAFT_ENOTFOUND", "not found"},
    {"CRAFT_EEXIST", "already exists"},
    {"CRAFT_ESTALE", "stale: superseded or already known"},
    {"CRAFT_ENOTSUP", "not supported"},
    {"CRAFT_EDEADLOCK", "would deadlock: a blocking call on the thread it waits for"},
};

_Static_assert(sizeof error_table / sizeof error_table[0] == (size_t)(-CRAFT_ERROR_MIN) + 1,
               "every error code has a row");

static const struct error_row *error_row_of(int rv)
{
    if (rv > 0 || rv < CRAFT_ERROR_MIN) {
        return NULL;
    }
    return &error_table[-rv];
}

const char *craft_strerror(int rv)
{
    const struct error_row *row = error_row_of(rv);
    return row != NULL ? row->text : "unknown error code";
}

const char *craft_errname(int rv)
{
    const struct error_row *row = error_row_of(rv);
    return row != NULL ? row->name : "CRAFT_E?";
}
