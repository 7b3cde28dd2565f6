/* pm-tickets: the tickets service worker. For now it answers only the built-in
 * "tickets.ping"; handlers join the methods table as they are written. */
#include "log.h"
#include "worker.h"
#include "zloop.h"

static const worker_method_t s_methods[] = {
    { NULL, NULL }
};

static void
s_on_stop (void *arg)
{
    worker_stop (arg);
}

int
main (void)
{
    log_init ("tickets");
    uv_loop_t loop;
    uv_loop_init (&loop);
    worker_t *worker = worker_new (&loop, "tickets", s_methods, NULL);
    if (!worker)
        return 1;
    zloop_handle_signals (&loop, s_on_stop, worker);
    uv_run (&loop, UV_RUN_DEFAULT);

    worker_destroy (&worker);
    uv_run (&loop, UV_RUN_DEFAULT);              /* lets the close callbacks run */
    uv_loop_close (&loop);
    return 0;
}
