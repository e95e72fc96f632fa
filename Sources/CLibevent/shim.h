#ifndef FLARE_CLIBEVENT_SHIM_H
#define FLARE_CLIBEVENT_SHIM_H
#include <event2/event.h>
#endif
