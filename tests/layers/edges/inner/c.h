#pragma once

// ZeroMQ outside its edge: refused.
#include <zmq.hpp>
