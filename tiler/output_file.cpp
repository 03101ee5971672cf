#include "output_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "slide_error.h"

namespace reread {

StagedPath::StagedPath(std::filesystem::path final_path) : final_(std::move(final_path)) {
  staging_ = final_;
  staging_.replace_filename("." + final_.filename().string() + ".partial-" + std::to_string(::getpid()));
}

StagedPath::~StagedPath() {
  if (!committed_) {
    std::error_code ec;
    std::filesystem::remove_all(staging_, ec);
  }
}

void StagedPath::commit() {
  std::error_code ec;
  if (std::filesystem::exists(final_, ec) && std::filesystem::is_directory(final_, ec)) {
    std::filesystem::remove_all(final_, ec);
    if (ec) throw SlideError(final_.string(), "replace previous output", ec.message());
  }
  std::filesystem::rename(staging_, final_, ec);
  if (ec) throw SlideError(final_.string(), "finish output", ec.message());
  committed_ = true;
}

void write_file(const std::filesystem::path& path, std::span<const std::uint8_t> bytes) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw SlideError(path.string(), "write", std::strerror(errno));
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = errno;
      ::close(fd);
      throw SlideError(path.string(), "write", std::strerror(err));
    }
    done += static_cast<std::size_t>(n);
  }
  if (::close(fd) != 0) throw SlideError(path.string(), "write", std::strerror(errno));
}

void write_file(const std::filesystem::path& path, const std::string& text) {
  write_file(path, std::span(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
}

}  // namespace reread
