// Forwards to upstream's root-level header, so the fallback subproject offers
// the <concurrentqueue/blockingconcurrentqueue.h> path that Debian's libconcurrentqueue-dev has.
#pragma once
#include "../../blockingconcurrentqueue.h"
