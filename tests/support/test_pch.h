#pragma once

// The precompiled header every test shares (cmake/RelaisHelpers.cmake,
// relais_test_pch): the large headers nearly every test includes. A test
// still includes what it uses; this only makes it cheaper to compile.

#include <flatbuffers/flatbuffers.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>
