/* The node's own logger: its lines go to the handle's sink and level (craft_node_config.log),
 * not to the process-wide one of util/log.h (which the transport and storage still use). */
#include <stdio.h>
#include <string.h>

#include "runtime.h"
#include "util/log.h"

void rt_log(const struct rt_logger *l, int level, const char *fmt, ...)
{
    char line[CRAFT_LOG_LINE_MAX];
    int prefix;
    int len;
    va_list ap;

    if (level > l->level) {
        return;
    }
    prefix = snprintf(line, sizeof line, "[%s] node=%llu group=%u: ",
                      craft_log_level_name((enum craft_log_level)level),
                      (unsigned long long)l->node, (unsigned)RT_GROUP);
    if (prefix < 0 || (size_t)prefix >= sizeof line) {
        return;
    }
    va_start(ap, fmt);
    len = vsnprintf(line + prefix, sizeof line - (size_t)prefix, fmt, ap);
    va_end(ap);
    if (len >= 0 && (size_t)(prefix + len) >= sizeof line) {
        memcpy(line + sizeof line - 4, "...", 4); /* cut: say so */
    }
    if (l->fn != NULL) {
        l->fn(l->ctx, level, line);
    } else {
        fprintf(stderr, "%s\n", line);
    }
}
