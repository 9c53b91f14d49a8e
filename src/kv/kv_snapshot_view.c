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
    char *buf; /* KV_SNAPSHOT_CHUNK + 1 bytes: the child's staging buffer, the parent's reads */
};

/* The child's last byte in the pipe. */
enum { VIEW_VERDICT_OK = 'K', VIEW_VERDICT_FAILED = 'F' };

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
    /* One more byte than the child stages: the parent's reads keep a byte back (the verdict). */
    char *buf = craft_malloc(KV_SNAPSHOT_CHUNK + 1);
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
        /* The verdict travels last in the pipe, not in the exit status, which a tool running
         * the server (valgrind's leak check of the child's copied memory) may change. */
        char verdict = rv == 0 ? VIEW_VERDICT_OK : VIEW_VERDICT_FAILED;
        (void)pipe_write(&fds[1], &verdict, 1);
        _exit(0); /* no atexit handlers, no flushing of the parent's buffers */
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

/* Reaps the child (its exit status says nothing: the verdict came through the pipe). */
static void reap(struct kv_snapshot_view *v)
{
    int status = 0;
    pid_t got;
    do {
        got = waitpid(v->child, &status, 0);
    } while (got < 0 && errno == EINTR);
    v->child = 0;
}

int kv_snapshot_view_write(struct kv_snapshot_view *v, kv_stream_write_fn write, void *ctx)
{
    /* The pipe carries the snapshot then one verdict byte: each read lands after the byte held
     * back from the one before, and all but the newest byte go on. */
    size_t held = 0;
    int rv = 0;
    while (rv == 0) {
        ssize_t n = read(v->fd, v->buf + held, KV_SNAPSHOT_CHUNK);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            rv = n == 0 ? 0 : CRAFT_EIO;
            break;
        }
        size_t have = held + (size_t)n;
        rv = have > 1 ? write(ctx, v->buf, have - 1) : 0;
        v->buf[0] = v->buf[have - 1];
        held = 1;
    }
    if (rv == 0 && (held == 0 || v->buf[0] != VIEW_VERDICT_OK)) {
        rv = CRAFT_EIO; /* the child failed, or died before its verdict */
    }
    close(v->fd);
    v->fd = -1;
    reap(v);
    return rv;
}

void kv_snapshot_view_end(struct kv_snapshot_view *v)
{
    if (v->fd >= 0) {
        close(v->fd); /* the child's next write fails: it exits */
    }
    if (v->child > 0) {
        reap(v);
    }
    craft_free(v->buf);
    craft_free(v);
}

int kv_snapshot_view_pid(const struct kv_snapshot_view *v)
{
    return (int)v->child;
}
