#pragma once

// Names the calling thread, so that `top -H`, `ps -L`, perf and gdb tell a
// program's threads apart (bench/profile.sh reports relaisd's CPU by
// thread). Linux shows at most 15 bytes: longer names are cut.

namespace relais {

void NameThisThread(const char* name);

}  // namespace relais
