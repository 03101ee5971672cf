// What the tests need from their surroundings: paths, temporary directories, running commands,
// and the image comparisons the acceptance criteria are written in.
#pragma once

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include "rgb_image.h"

namespace reread::test {

inline std::filesystem::path source_dir() { return REREAD_SOURCE_DIR; }
inline std::filesystem::path shared_slides() { return REREAD_SHARED_SLIDES; }
inline std::filesystem::path tiler_bin() { return REREAD_TILER_BIN; }
inline const char* reference_python() { return "/usr/bin/python3"; }

inline bool have_shared_slides() { return std::filesystem::exists(shared_slides() / "CMU-1-Small-Region.svs"); }

#define REREAD_REQUIRE_SHARED_SLIDES()                                                   \
  do {                                                                                   \
    if (!::reread::test::have_shared_slides())                                           \
      GTEST_SKIP() << "real slides not found at " << ::reread::test::shared_slides()     \
                   << " (place the shared/ folder beside the project to run this test)"; \
  } while (0)

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

inline CommandResult run_command(const std::string& command) {
  CommandResult r;
  FILE* p = ::popen((command + " 2>&1").c_str(), "r");
  if (p == nullptr) return r;
  std::array<char, 4096> buf{};
  std::size_t n = 0;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) r.output.append(buf.data(), n);
  const int status = ::pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

inline std::string quote(const std::filesystem::path& p) { return "'" + p.string() + "'"; }

inline bool have_reference_tiler() {
  return run_command(std::string(reference_python()) + " -c 'import openslide.deepzoom'").exit_code == 0;
}

#define REREAD_REQUIRE_REFERENCE()                                                            \
  do {                                                                                        \
    if (!::reread::test::have_reference_tiler())                                              \
      GTEST_SKIP() << "python3-openslide (the reference DeepZoomGenerator) is not installed"; \
  } while (0)

// A fresh directory, removed with everything in it when the test ends.
class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    path_ = std::filesystem::temp_directory_path() / ("reread-test-" + std::to_string(rd()) + std::to_string(rd()));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

inline std::string read_text(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline void write_text_file(const std::filesystem::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary);
  out << text;
}

// Peak signal-to-noise ratio over all channels; infinity for identical images.
inline double psnr(const RgbImage& a, const RgbImage& b) {
  if (a.width != b.width || a.height != b.height || a.pixels.empty()) return 0.0;
  double se = 0.0;
  for (std::size_t i = 0; i < a.pixels.size(); ++i) {
    const double d = static_cast<double>(a.pixels[i]) - static_cast<double>(b.pixels[i]);
    se += d * d;
  }
  if (se == 0.0) return INFINITY;
  const double mse = se / static_cast<double>(a.pixels.size());
  return 10.0 * std::log10(255.0 * 255.0 / mse);
}

}  // namespace reread::test
