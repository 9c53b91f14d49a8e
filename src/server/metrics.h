/* The hook for craftd's metrics endpoint (--metrics-port): started with the server, stopped
 * before it. metrics.c is where the HTTP endpoint goes. */
#ifndef CRAFT_SERVER_METRICS_H
#define CRAFT_SERVER_METRICS_H

struct server;

/* 0, or an error that fails the server's start. Loop thread. */
int metrics_start(struct server *s);
void metrics_stop(struct server *s);

#endif
