#ifndef FLARE_CTKRZW_SHIM_H
#define FLARE_CTKRZW_SHIM_H
#include <tkrzw_langc.h>
#endif
