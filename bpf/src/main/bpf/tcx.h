/* What a TC program on a TCX hook returns for a packet it leaves alone. */
#ifndef SOCKET_LAUNCHER_TCX_H
#define SOCKET_LAUNCHER_TCX_H

#include <linux/pkt_cls.h>

/* TCX_NEXT (uapi of 6.6+, newer than these headers): the packet goes on to the programs attached after this one
 * on the hook, then to the stack. TC_ACT_OK would end the chain here. */
#define PASS_ON TC_ACT_UNSPEC

#endif
