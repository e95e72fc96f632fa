#ifndef FLARE_CLIBEVENT_SHIM_H
#define FLARE_CLIBEVENT_SHIM_H

/*
 * The part of libevent's API that FlareNet uses, declared here instead of including
 * <event2/event.h>: that header pulls in <sys/time.h> and <sys/select.h>, and a clang module
 * holding its own copy of them clashes with Swift's Glibc module ("fd_set ... is not present in
 * definition") on some clean builds. These declarations match libevent 2.1's ABI on Linux, where
 * evutil_socket_t is int; timeouts are passed as pointers to the system's struct timeval.
 */

struct event_base;
struct event;
struct event_config;

typedef void (*event_callback_fn)(int, short, void *);

#define EV_TIMEOUT 0x01
#define EV_READ 0x02
#define EV_WRITE 0x04
#define EV_SIGNAL 0x08
#define EV_PERSIST 0x10


struct event_base *event_base_new(void);
struct event_config *event_config_new(void);
void event_config_free(struct event_config *cfg);
struct event_base *event_base_new_with_config(const struct event_config *cfg);
void event_base_free(struct event_base *base);
int event_base_dispatch(struct event_base *base);
int event_base_loopbreak(struct event_base *base);

struct event *event_new(struct event_base *base, int fd, short events, event_callback_fn callback, void *arg);
void event_free(struct event *ev);
/* timeout: a const struct timeval *, or NULL for none */
int event_add(struct event *ev, const void *timeout);
int event_del(struct event *ev);
/* Makes `ev` active now: its callback runs in the current loop iteration, after the callbacks
   already queued. */
void event_active(struct event *ev, int res, short ncalls);

/*
 * Linux timer file descriptors (<sys/timerfd.h>, which Swift's Glibc module does not export):
 * a short pause on one connection gets microsecond precision from one of these, watched like a
 * socket, instead of the loop's precise-timer mode (which re-arms a timerfd on every iteration).
 * new_value / old_value: struct itimerspec pointers.
 */
#define FLARE_TFD_NONBLOCK 04000
#define FLARE_TFD_CLOEXEC 02000000
int timerfd_create(int clockid, int flags);
int timerfd_settime(int fd, int flags, const void *new_value, void *old_value);

#endif
