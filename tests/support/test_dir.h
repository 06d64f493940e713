#pragma once

// A gtest fixture for tests that work in a folder of their own (kept out
// of fixtures.h, which programs without gtest include too).

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "tests/support/fixtures.h"

namespace relais::testing {

// A fixture with a fresh folder of its own (MakeTestDir), removed after
// the test; Path("f") names a file in it.
class TestDirFixture : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = MakeTestDir(); }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string Path(const std::string& name) const {
    return (dir_ / name).string();
  }
  std::filesystem::path dir_;
};

}  // namespace relais::testing
