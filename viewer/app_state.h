// The viewer's model: what the server said (cases, the open case, thumbnails), the slide views, the
// display settings and what went wrong. The app owns and changes it; panels read it each frame.
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "annotation_tools.h"
#include "app_catalogue.h"
#include "app_record.h"
#include "app_slide_view.h"
#include "gl_objects.h"
#include "gl_tile_program.h"

namespace reread::viewer {

// A case slide's thumbnail as a plain RGB texture (ImGui draws it without sRGB decoding).
struct ThumbnailTexture {
  GlTexture texture;
  int width = 0, height = 0;
};

struct AppState {
  bool remote = true;  // reread-server (else one local slide file)
  std::string source;  // the server URL or the slide file
  // The catalogue (remote only).
  std::vector<CaseSummary> cases;
  bool cases_loaded = false;
  std::optional<std::int64_t> selected_case;
  std::optional<CaseDetail> open_case;
  std::map<std::string, ThumbnailTexture> thumbnails;  // by slide ID
  bool catalogue_busy = false;
  std::string catalogue_error;  // the last failed request, for the banner ("" when none)

  // The views, left to right, and the one keys go to.
  std::vector<std::unique_ptr<SlideView>> views;
  std::size_t focused = 0;
  bool sync = false;  // moves in one view move every view

  // The re-read record (remote only): annotation documents, the report draft, the outbox. Owned by the app.
  AppRecord* record = nullptr;
  Tool tool = Tool::select;                      // the focused view's annotation tool
  std::string annotation_class, annotation_color = "#ffff00";  // what new annotations get
  std::string file_message;                      // the last import, export or PDF written
  bool show_report = false;                      // the report column
  ScreenRect report_column;                      // screen pixels; width 0 when hidden

  DisplayAdjustments display;
  bool show_sidebar = true, show_debug = false;
  bool ui = true;  // panels drawn at all (off for screenshots)

  ScreenRect sidebar;  // screen pixels; width 0 when hidden
  double frame_ms = 0, frame_ms_average = 0;
};

}  // namespace reread::viewer
