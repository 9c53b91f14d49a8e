/* A point-in-time view of the store for a snapshot written while applies go on: a fork. The
 * child holds the store as it was at the fork (the kernel copies pages only as the parent
 * changes them) and writes its snapshot into a pipe; the parent's snapshot thread reads the pipe
 * into the snapshot stream. The child allocates nothing (its staging buffer is allocated before
 * the fork: a sanitizer's allocator, unlike glibc's, may be left locked in the child by another
 * thread) and locks only the node directory's mutex, which the parent holds across the fork so
 * the child's copy is free and consistent. */
#define _GNU_SOURCE /* pipe2 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kv/kv_snapshot.h"
#include "kv_internal.h"
#include "util/alloc.h"

struct kv_snapshot_view {
    pid_t child;
    int fd;    /* the pipe's reading end; -1 once closed */
    char *buf; /* KV_SNAPSHOT_CHUNK bytes: the child's staging buffer, then the parent's reads */
};

/* The child's stream: the pipe. */
static int pipe_write(void *ctx, const void *buf, size_t len)
{
    int fd = *(const int *)ctx;
    const char *p = buf;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return CRAFT_EIO;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int kv_snapshot_view_begin(struct kv_store *s, struct kv_snapshot_view **out)
{
    struct kv_snapshot_view *v = craft_malloc(sizeof *v);
    char *buf = craft_malloc(KV_SNAPSHOT_CHUNK);
    if (v == NULL || buf == NULL) {
        craft_free(v);
        craft_free(buf);
        return CRAFT_ENOMEM;
    }
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) {
        craft_free(v);
        craft_free(buf);
        return CRAFT_EIO;
    }
    pid_t parent = getpid();
    pthread_mutex_lock(&s->nodes.lock);
    pid_t pid = fork();
    pthread_mutex_unlock(&s->nodes.lock); /* in both processes */
    if (pid == 0) {
        close(fds[0]);
        /* The child never outlives the server, even one killed before it could reap it. */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent) {
            _exit(1);
        }
        signal(SIGPIPE, SIG_IGN); /* a reader gone is an error return, not a signal */
        int rv = kv_snapshot_save_buf(s, buf, pipe_write, &fds[1]);
        _exit(rv == 0 ? 0 : 1); /* no atexit handlers, no flushing of the parent's buffers */
    }
    close(fds[1]);
    if (pid < 0) {
        close(fds[0]);
        craft_free(v);
        craft_free(buf);
        return CRAFT_EIO;
    }
    v->child = pid;
    v->fd = fds[0];
    v->buf = buf;
    *out = v;
    return 0;
}

/* Reaps the child: 0 when it exited cleanly. */
static int reap(struct kv_snapshot_view *v)
{
    int status = 0;
    pid_t got;
    do {
        got = waitpid(v->child, &status, 0);
    } while (got < 0 && errno == EINTR);
    v->child = 0;
    return got > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : CRAFT_EIO;
}

int kv_snapshot_view_write(struct kv_snapshot_view *v, kv_stream_write_fn write, void *ctx)
{
    int rv = 0;
    while (rv == 0) {
        ssize_t n = read(v->fd, v->buf, KV_SNAPSHOT_CHUNK);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            rv = n == 0 ? 0 : CRAFT_EIO;
            break;
        }
        rv = write(ctx, v->buf, (size_t)n);
    }
    close(v->fd);
    v->fd = -1;
    int child_rv = reap(v);
    return rv != 0 ? rv : child_rv;
}

void kv_snapshot_view_end(struct kv_snapshot_view *v)
{
    if (v->fd >= 0) {
        close(v->fd); /* the child's next write fails: it exits */
    }
    if (v->child > 0) {
        (void)reap(v);
    }
    craft_free(v->buf);
    craft_free(v);
}
