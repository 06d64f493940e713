// The one file that may include edge/e.h.
#include "edge/e.h"
