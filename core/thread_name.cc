#include "core/thread_name.h"

#include <pthread.h>

#include <algorithm>
#include <cstring>
#include <string>

namespace relais {

void NameThisThread(const char* name) {
  // The kernel takes 16 bytes with the final NUL.
  const std::string shown(name, std::min<size_t>(std::strlen(name), 15));
  pthread_setname_np(pthread_self(), shown.c_str());
}

}  // namespace relais
