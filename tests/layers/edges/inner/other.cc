// Any other file of inner/ may not.
#include "edge/e.h"
