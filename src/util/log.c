/* The logger: level filtering, line formatting, and the stderr sink. */
#include "log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

/* Process-wide on purpose (see log.h): one minimum level and one sink for the whole process. */
static _Atomic int log_level_min = CRAFT_LOG_INFO;
static craft_log_sink_fn log_sink;
static void *log_sink_ctx;

static const char *const level_names[] = {"ERROR", "WARN", "INFO", "DEBUG"};

_Static_assert(sizeof level_names / sizeof level_names[0] == CRAFT_LOG_DEBUG + 1,
               "every log level has a name");
_Static_assert(CRAFT_LOG_LINE_MAX >= 64, "a line must hold its prefix and some text");

/* One fwrite per line: stdio locks the stream per call, so lines from threads do not interleave. */
static void stderr_sink(void *ctx, enum craft_log_level level, const char *line)
{
    char out[CRAFT_LOG_LINE_MAX + 1];
    size_t len = strlen(line);

    (void)ctx;
    (void)level;
    memcpy(out, line, len);
    out[len] = '\n';
    fwrite(out, 1, len + 1, stderr);
}

const char *craft_log_level_name(enum craft_log_level level)
{
    if ((int)level < CRAFT_LOG_ERROR || (int)level > CRAFT_LOG_DEBUG) {
        return "?";
    }
    return level_names[level];
}

void craft_log_set_level(enum craft_log_level level)
{
    atomic_store_explicit(&log_level_min, (int)level, memory_order_relaxed);
}

enum craft_log_level craft_log_get_level(void)
{
    return (enum craft_log_level)atomic_load_explicit(&log_level_min, memory_order_relaxed);
}

bool craft_log_enabled(enum craft_log_level level)
{
    return (int)level <= atomic_load_explicit(&log_level_min, memory_order_relaxed);
}

void craft_log_set_sink(void *ctx, craft_log_sink_fn sink)
{
    log_sink = sink;
    log_sink_ctx = ctx;
}

/* Marks a line that did not fit, replacing its last characters with "...". */
static void mark_cut(char *line)
{
    memcpy(line + CRAFT_LOG_LINE_MAX - 4, "...", 4);
}

void craft_log(enum craft_log_level level, uint64_t node, uint64_t group, const char *fmt, ...)
{
    char line[CRAFT_LOG_LINE_MAX];
    va_list args;
    int prefix;
    int body;
    size_t len;

    if (!craft_log_enabled(level)) {
        return;
    }
    prefix = snprintf(line, sizeof line, "[%s] node=%llu group=%llu: ", craft_log_level_name(level),
                      (unsigned long long)node, (unsigned long long)group);
    if (prefix < 0 || (size_t)prefix >= sizeof line) {
        return; /* Cannot happen with a 1 KiB line; drop rather than print garbage. */
    }
    va_start(args, fmt);
    body = vsnprintf(line + prefix, sizeof line - (size_t)prefix, fmt, args);
    va_end(args);
    if (body < 0) {
        line[prefix] = '\0';
    } else if ((size_t)prefix + (size_t)body >= sizeof line) {
        mark_cut(line);
    }
    len = strlen(line);
    if (len > 0 && line[len - 1] == '\n') {
        line[len - 1] = '\0';
    }
    if (log_sink != NULL) {
        log_sink(log_sink_ctx, level, line);
    } else {
        stderr_sink(NULL, level, line);
    }
}
