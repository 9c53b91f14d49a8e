/* The metrics endpoint's place: --metrics-port is accepted; the HTTP endpoint is not built yet. */
#include "server/metrics.h"

#include "server/server.h"
#include "util/log.h"

int metrics_start(struct server *s)
{
    if (s->cfg.metrics_port != 0) {
        craft_log(CRAFT_LOG_WARN, s->cfg.id, 0,
                  "--metrics-port %u: no metrics endpoint in this build yet",
                  (unsigned)s->cfg.metrics_port);
    }
    return 0;
}

void metrics_stop(struct server *s)
{
    (void)s;
}
