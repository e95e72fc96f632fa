#ifndef FLARE_CZOOKEEPER_SHIM_H
#define FLARE_CZOOKEEPER_SHIM_H
// Debian's libzookeeper-mt-dev ships no pkg-config file; its headers live in /usr/include/zookeeper.
// The synchronous calls are declared only for the multi-threaded library, which is the one linked.
#ifndef THREADED
#define THREADED
#endif
#include <zookeeper/zookeeper.h>

// The library's mutable global ACL, reached through a function so Swift does not touch a C global.
static inline struct ACL_vector *flare_zoo_open_acl(void) { return &ZOO_OPEN_ACL_UNSAFE; }
#endif
