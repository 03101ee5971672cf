// reread-viewer run headless by a test, under its own Xvfb with Mesa's llvmpipe.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <string>

#include "test_environment.h"

namespace reread::test {

inline bool have_xvfb() { return run_command("command -v xvfb-run").exit_code == 0; }

#define REREAD_REQUIRE_XVFB()                                                                            \
  do {                                                                                                   \
    if (!::reread::test::have_xvfb())                                                                    \
      GTEST_SKIP() << "xvfb-run is not installed (apt-get install xvfb): the viewer needs a display to " \
                      "render headless";                                                                 \
  } while (0)

// reread-viewer with `args` under its own Xvfb. Display numbers start from one of this process's own, so
// suites run in parallel seldom race for one; a lost race (Xvfb fails to start) is retried.
inline CommandResult run_viewer_headless(const std::string& args) {
  const std::string command = "xvfb-run -a -n " + std::to_string(100 + ::getpid() % 800) +
                              " -s '-screen 0 1920x1080x24' " + REREAD_VIEWER_BIN + " " + args;
  CommandResult r = run_command(command);
  for (int retry = 0; retry < 2 && r.output.find("Xvfb failed to start") != std::string::npos; ++retry) {
    r = run_command(command);
  }
  return r;
}

}  // namespace reread::test
