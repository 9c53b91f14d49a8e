/* Log levels, shared by the node's per-handle logger (node.h) and the library's internal one. */
#ifndef CRAFT_LOG_H
#define CRAFT_LOG_H

/* Lower is more severe. ERROR: someone must act. WARN: unexpected but handled. INFO: state changes
 * (role, term, membership, snapshot, peer up/down). DEBUG: per message. */
enum craft_log_level {
    CRAFT_LOG_ERROR = 0,
    CRAFT_LOG_WARN = 1,
    CRAFT_LOG_INFO = 2,
    CRAFT_LOG_DEBUG = 3,
};

#endif
