// Output that appears complete or not at all: written under a temporary name, renamed at the end,
// removed if anything fails on the way.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>

namespace reread {

class StagedPath {
 public:
  // `final_path` is where the result will be; the staging path sits beside it.
  explicit StagedPath(std::filesystem::path final_path);
  ~StagedPath();  // removes the staging path unless commit() succeeded
  StagedPath(const StagedPath&) = delete;
  StagedPath& operator=(const StagedPath&) = delete;

  const std::filesystem::path& staging() const { return staging_; }
  const std::filesystem::path& final_path() const { return final_; }
  // Replaces whatever is at the final path with the staged result.
  void commit();

 private:
  std::filesystem::path final_;
  std::filesystem::path staging_;
  bool committed_ = false;
};

// Writes bytes to a file, throwing SlideError(path, "write", errno text) on failure.
void write_file(const std::filesystem::path& path, std::span<const std::uint8_t> bytes);
void write_file(const std::filesystem::path& path, const std::string& text);

}  // namespace reread
