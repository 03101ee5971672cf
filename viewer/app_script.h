// Script mode: a camera path read from JSON, replayed frame by frame, and the timing report it leaves.
//   [{"open": {"case": 3, "slide": "abc"}}, {"zoom": {"magnification": 20, "center": [x, y]}},
//    {"pan": {"dx": 400, "dy": 0}}, {"wait": "sharp"}, {"wait": 250},
//    {"open": {"slide": "def", "beside": true}}, {"sync": true}, {"screenshot": "window.png"},
//    {"tool": "polygon"}, {"click": [x, y]}, {"double_click": [x, y]}, {"drag": {"from": [x, y], "to": [x, y]}},
//    {"key": "enter"}, {"select": "label"}, {"label": "text"}, {"import": "file.xml"},
//    {"export": {"format": "geojson", "path": "out.geojson"}}, {"report": {...}}, {"wait": "saved"}]
// Input steps (tool, click, double_click, drag, key) go through the same path as the mouse and keyboard
// (positions in level-0 pixels, turned into screen positions of the focused view); report steps through the
// report panel's intents: {"report": "show"}, {"report": {"revise": {"field": F, "text": T}}},
// {"report": {"confirm": F}}, {"report": {"discrepancy": "major"}}, {"report": {"text": {"key": K, "text": T}}},
// {"report": {"reference": "label"}} (inserts a reference to the annotation with that label into the free
// text), {"report": {"export_pdf": "file.pdf"}}, {"report": "sign"}. {"wait": "saved"} waits until the server has every change.
// The player is pure: it is told the time and the focused view's state, and says what to do.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "camera.h"

namespace reread::viewer {

struct ScriptStep {
  enum class Kind { open, zoom, pan, wait_sharp, wait_ms, sync, screenshot, input, report, wait_saved };
  Kind kind = Kind::wait_sharp;
  std::optional<std::int64_t> case_id;  // open
  std::string slide_id;                 // open
  bool beside = false;                  // open: add a view instead of replacing the focused one
  bool sync = false;                    // sync
  std::string path;                     // screenshot: the whole window, panels included
  std::optional<double> magnification;  // zoom
  std::optional<Vec2> center;           // zoom: level-0 pixels
  Vec2 delta;                           // pan: screen pixels (the picture moves by it)
  double ms = 0;                        // wait_ms
  std::string name;                     // input: tool, click, double_click, drag, key, select, label, import, export
  nlohmann::json arg;                   // input and report: the step's value as written
};

// Throws std::invalid_argument naming the step and what is wrong with it.
std::vector<ScriptStep> parse_script(const nlohmann::json& script);

// What the app should do this frame.
struct ScriptAction {
  enum class Kind { none, open, zoom, pan, sync, screenshot, input, report, finished };
  Kind kind = Kind::none;
  const ScriptStep* step = nullptr;
};

class ScriptPlayer {
 public:
  explicit ScriptPlayer(std::vector<ScriptStep> steps, double sharp_timeout_s = 60.0);

  // Once per frame, after drawing: `now` in seconds, whether a view is open and whether the focused one
  // drew sharp. Returns the next step to carry out (at most one per frame). Throws std::runtime_error when
  // a wait for sharpness times out.
  ScriptAction advance(double now, bool view_open, bool sharp);
  // Whether the server has every change (for {"wait": "saved"}); set each frame before advance().
  void set_saved(bool saved) { saved_ = saved; }
  // Each frame's duration (ms), while a view is open.
  void frame(double ms) { frame_ms_.push_back(ms); }

  bool finished() const { return next_ >= steps_.size() && !waiting_; }

  struct MoveTiming {
    std::size_t step = 0;
    std::string kind;
    std::optional<double> ms_until_sharp;  // none: the next move came first
  };
  std::optional<double> time_to_first_complete_view_ms() const { return first_complete_ms_; }
  const std::vector<MoveTiming>& moves() const { return moves_; }
  const std::vector<double>& frame_ms() const { return frame_ms_; }

 private:
  std::vector<ScriptStep> steps_;
  double sharp_timeout_s_;
  std::size_t next_ = 0;
  bool waiting_ = false;  // on the current step (open, wait)
  bool saved_ = true;
  double wait_start_ = 0;
  std::optional<double> start_, open_started_, first_complete_ms_;
  std::optional<std::size_t> open_move_;  // the move whose sharpness is awaited
  double move_started_ = 0;
  std::vector<MoveTiming> moves_;
  std::vector<double> frame_ms_;
};

// p in [0, 1] of `values` (nearest rank); 0 when empty.
double percentile(std::vector<double> values, double p);

}  // namespace reread::viewer
