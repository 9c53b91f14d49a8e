/* Connections whose hello does not come in time are closed: a client that connects and stays
 * silent (or a dial into a black hole) must not hold a connection forever. */
#include "transport_internal.h"
#include "util/assert.h"
#include "util/log.h"

static void on_sweep(uv_timer_t *h)
{
    struct net_transport *t = h->data;
    uint64_t now = uv_now(t->loop);
    for (struct tcp_conn *c = t->conns; c != NULL; c = c->next) {
        if (c->peer == CRAFT_ID_NONE && !c->closing &&
            now - c->opened_ms >= t->config.hello_timeout_ms) {
            tcp_conn_close(c, CRAFT_LOG_WARN, "no hello in time");
        }
    }
}

void hello_deadline_start(struct net_transport *t)
{
    CRAFT_ASSERT(t->config.hello_timeout_ms >= 1);
    int rv = uv_timer_init(t->loop, &t->sweeper);
    CRAFT_ASSERT(rv == 0);
    t->sweeper.data = t;
    t->n_handles++;
    /* Sweeping at half the timeout closes a silent connection within 1.5 timeouts. */
    uint64_t every = t->config.hello_timeout_ms / 2 ? t->config.hello_timeout_ms / 2 : 1;
    rv = uv_timer_start(&t->sweeper, on_sweep, every, every);
    CRAFT_ASSERT(rv == 0);
    uv_unref((uv_handle_t *)&t->sweeper); /* the sweep alone does not keep the loop running */
}
