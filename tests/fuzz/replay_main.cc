// Replays fuzz seed corpora without libFuzzer: main() for a fuzz target's
// LLVMFuzzerTestOneInput in the main build (GCC, no sanitizer), so that a
// regression on a seed shows in `ctest -L unit` even where no fuzzing runs.
//
//   <target>_replay DIR...
//
// Calls LLVMFuzzerInitialize (if the target has one), then the target once
// per regular file under each DIR (recursively, in name order). Fails (exit
// 1) if a DIR cannot be read or holds no file, so an empty or misplaced
// corpus cannot pass; a failing input aborts, as under libFuzzer.

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);
extern "C" __attribute__((weak)) int LLVMFuzzerInitialize(int* argc,
                                                          char*** argv);

namespace {

namespace fs = std::filesystem;

// The regular files under `dir`, sorted; false if it cannot be listed.
bool FilesUnder(const fs::path& dir, std::vector<fs::path>* out) {
  std::error_code ec;
  fs::recursive_directory_iterator it(dir, ec);
  if (ec) return false;
  for (const auto& entry : it) {
    if (entry.is_regular_file(ec)) out->push_back(entry.path());
  }
  std::sort(out->begin(), out->end());
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR...\n", argv[0]);
    return 2;
  }
  if (LLVMFuzzerInitialize != nullptr) LLVMFuzzerInitialize(&argc, &argv);
  for (int i = 1; i < argc; ++i) {
    std::vector<fs::path> files;
    if (!FilesUnder(argv[i], &files) || files.empty()) {
      std::fprintf(stderr, "%s: no corpus file in %s\n", argv[0], argv[i]);
      return 1;
    }
    for (const auto& file : files) {
      std::ifstream in(file, std::ios::binary);
      const std::string bytes((std::istreambuf_iterator<char>(in)),
                              std::istreambuf_iterator<char>());
      if (!in.good() && !in.eof()) {
        std::fprintf(stderr, "%s: cannot read %s\n", argv[0], file.c_str());
        return 1;
      }
      LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(bytes.data()),
                             bytes.size());
    }
    std::printf("%s: %zu inputs replayed from %s\n", argv[0], files.size(),
                argv[i]);
  }
  return 0;
}
