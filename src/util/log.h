/* The one logger: leveled lines, each naming its node and group, to stderr or to a sink that tests
 * install. The core does not log text; it emits structured trace events instead. */
#ifndef CRAFT_UTIL_LOG_H
#define CRAFT_UTIL_LOG_H

#include <stdbool.h>
#include <stdint.h>

#include "craft/log.h" /* enum craft_log_level */

/* Longest line handed to a sink, terminating NUL included; longer messages are cut, and the cut
 * is marked with "..." so a reader knows. 1 KiB keeps the line on the stack of any thread. */
#define CRAFT_LOG_LINE_MAX 1024

/* Receives one formatted line without a trailing newline. line is borrowed for the call. Called on
 * the thread that logged, so a sink shared by threads must serialise itself. */
typedef void (*craft_log_sink_fn)(void *ctx, enum craft_log_level level, const char *line);

/* Formats one line "[LEVEL] node=N group=G: message" and hands it to the sink (stderr by default),
 * if level is at or above the minimum level. A trailing newline in fmt is dropped. Any thread. */
void craft_log(enum craft_log_level level, uint64_t node, uint64_t group, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Sets the minimum level that is written; the default is CRAFT_LOG_INFO. This is one of the few
 * process-wide settings in craft (like the allocation test hook): every node and group in the
 * process shares it. Any thread; takes effect for lines logged after it returns. */
void craft_log_set_level(enum craft_log_level level);

/* Returns the current minimum level. Any thread. */
enum craft_log_level craft_log_get_level(void);

/* True when a line at level would be written; lets a caller skip costly argument preparation. */
bool craft_log_enabled(enum craft_log_level level);

/* Redirects every line to sink with ctx (ctx is borrowed until the sink is replaced); NULL restores
 * the stderr sink. Process-wide, like the level. Call it before starting threads that log (tests
 * install a capturing sink this way); it is not synchronised with concurrent craft_log calls. */
void craft_log_set_sink(void *ctx, craft_log_sink_fn sink);

/* Returns the static tag of level ("ERROR", "WARN", "INFO", "DEBUG"); "?" for any other value. */
const char *craft_log_level_name(enum craft_log_level level);

#endif
