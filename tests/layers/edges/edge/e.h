#pragma once

#include <zmq.hpp>
