// The tiler's one error type: which file, which operation, and what the library said.
#pragma once

#include <stdexcept>
#include <string>

namespace reread {

class SlideError : public std::runtime_error {
 public:
  SlideError(std::string file, std::string operation, std::string cause)
      : std::runtime_error(file + ": " + operation + ": " + cause),
        file_(std::move(file)),
        operation_(std::move(operation)),
        cause_(std::move(cause)) {}

  const std::string& file() const { return file_; }
  const std::string& operation() const { return operation_; }
  const std::string& cause() const { return cause_; }

 private:
  std::string file_;
  std::string operation_;
  std::string cause_;
};

}  // namespace reread
