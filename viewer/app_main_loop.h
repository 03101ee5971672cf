// The viewer application: options, the frame loop that drains the catalogue, lays out and draws the
// views and panels, applies the panels' intents, and the headless screenshot and script modes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "app_slide_view.h"

namespace reread::viewer {

struct AppOptions {
  // reread-server (remote mode)...
  std::string server_url, token;
  std::optional<std::int64_t> case_id;
  std::optional<std::string> slide_id;
  // ... or a local slide file.
  std::string slide_file;

  std::optional<Vec2> center;           // level-0 pixels
  std::optional<double> magnification;  // else the whole slide
  int quarter_turns = 0;                // clockwise
  int width = 1600, height = 1000;      // window, screen pixels

  std::string screenshot_path;  // PNG written once the view is sharp, then exit
  std::string script_path;      // camera path to replay, then exit
  std::string report_path;      // the script's timing report (stdout when empty)
  double timeout_s = 60;        // for a screenshot, and for each wait in a script

  DisplayAdjustments display;  // initial brightness, contrast, gamma
  ViewOptions view;
  int connections = 6, decoders = 2;  // per remote view
  int pipeline_depth = 4;             // requests on the wire per connection
  int local_threads = 2;              // per local view
  // Where the outbox journal lives (changes not yet on the server); "" picks $XDG_STATE_HOME/reread or
  // ~/.local/state/reread.
  std::string state_dir;
};

// Runs the viewer until its window closes (interactive) or its headless task ends. Returns the process
// exit status; errors are printed on stderr as one line each.
int run_viewer(const AppOptions& options);

}  // namespace reread::viewer
