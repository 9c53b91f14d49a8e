/* Error codes shared by every layer of craft, and the functions that name them.
 * Every fallible call returns 0 or one of the negative codes below. */
#ifndef CRAFT_ERRORS_H
#define CRAFT_ERRORS_H

#define CRAFT_MUST_CHECK __attribute__((warn_unused_result))

/* The table in src/util/errors.c gives each code its name and text; keep the two in step. */
enum craft_error {
    CRAFT_OK = 0,
    CRAFT_ENOMEM = -1,      /* an allocation failed */
    CRAFT_EINVAL = -2,      /* an argument or a config value is out of range */
    CRAFT_ENOTLEADER = -3,  /* this node is not the leader; see the leader hint */
    CRAFT_EBUSY = -4,       /* a bounded queue or window is full; retry later */
    CRAFT_ESHUTDOWN = -5,   /* the object is shutting down */
    CRAFT_ECORRUPT = -6,    /* stored or received data failed validation */
    CRAFT_EIO = -7,         /* an I/O call failed */
    CRAFT_ENOSPC = -8,      /* no space left on the device */
    CRAFT_EUNKNOWN = -9,    /* outcome unknown: leadership was lost after the entry was appended */
    CRAFT_ETOOBIG = -10,    /* a request or frame exceeds its size limit */
    CRAFT_EMISMATCH = -11,  /* data belongs to another node or cluster */
    CRAFT_ECOMPACTED = -12, /* the requested log entries were compacted away */
    CRAFT_ENOTFOUND = -13,  /* a named file or object does not exist */
    CRAFT_EEXIST = -14,     /* it exists already */
    CRAFT_ESTALE = -15,     /* superseded: what it offers is already known or out of date */
    CRAFT_ENOTSUP = -16,    /* not supported by this object (a state machine without snapshots) */
    CRAFT_EDEADLOCK = -17,  /* the call would wait for the thread it runs on (a _wait on the loop) */
};
#define CRAFT_ERROR_MIN CRAFT_EDEADLOCK

/* Returns a static, human-readable sentence for rv; never NULL. Any thread. */
const char *craft_strerror(int rv);

/* Returns the static symbolic name of rv ("CRAFT_ENOMEM"); never NULL. Any thread. */
const char *craft_errname(int rv);

#endif
