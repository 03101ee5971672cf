// Script parsing and replay.
#include "app_script.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace reread::viewer {
namespace {

[[noreturn]] void bad(std::size_t index, const std::string& why) {
  throw std::invalid_argument("script step " + std::to_string(index + 1) + ": " + why);
}

bool is_point(const nlohmann::json& j) {
  return j.is_array() && j.size() == 2 && j[0].is_number() && j[1].is_number();
}

double number(const nlohmann::json& j, const char* key, std::size_t index) {
  const auto it = j.find(key);
  if (it == j.end() || !it->is_number()) bad(index, std::string("\"") + key + "\" must be a number");
  return it->get<double>();
}

}  // namespace

std::vector<ScriptStep> parse_script(const nlohmann::json& script) {
  if (!script.is_array()) throw std::invalid_argument("a script is a JSON list of steps");
  std::vector<ScriptStep> steps;
  for (std::size_t i = 0; i < script.size(); ++i) {
    const auto& s = script[i];
    if (!s.is_object() || s.size() != 1) bad(i, "each step is an object with one key: open, zoom, pan or wait");
    ScriptStep step;
    const std::string key = s.begin().key();
    const nlohmann::json& body = s.begin().value();
    if (key == "open") {
      step.kind = ScriptStep::Kind::open;
      if (!body.is_object()) bad(i, "\"open\" takes {\"case\": ID, \"slide\": ID}");
      if (const auto c = body.find("case"); c != body.end()) {
        if (c->is_number_integer()) {
          step.case_id = c->get<std::int64_t>();
        } else if (c->is_string()) {
          step.case_id = std::stoll(c->get<std::string>());
        } else {
          bad(i, "\"case\" must be a case ID");
        }
      }
      if (const auto sl = body.find("slide"); sl != body.end()) {
        if (!sl->is_string()) bad(i, "\"slide\" must be a slide ID");
        step.slide_id = sl->get<std::string>();
      }
      if (!step.case_id && step.slide_id.empty()) bad(i, "\"open\" names a case, a slide or both");
      step.beside = body.value("beside", false);
    } else if (key == "zoom") {
      step.kind = ScriptStep::Kind::zoom;
      if (!body.is_object()) bad(i, "\"zoom\" takes {\"magnification\": M, \"center\": [x, y]}");
      if (body.contains("magnification")) {
        step.magnification = number(body, "magnification", i);
        if (!(*step.magnification > 0)) bad(i, "magnification must be positive");
      }
      if (const auto c = body.find("center"); c != body.end()) {
        if (!c->is_array() || c->size() != 2 || !(*c)[0].is_number() || !(*c)[1].is_number()) {
          bad(i, "\"center\" is [x, y] in level-0 pixels");
        }
        step.center = Vec2{(*c)[0].get<double>(), (*c)[1].get<double>()};
      }
      if (!step.magnification && !step.center) bad(i, "\"zoom\" needs a magnification, a center or both");
    } else if (key == "pan") {
      step.kind = ScriptStep::Kind::pan;
      if (!body.is_object()) bad(i, "\"pan\" takes {\"dx\": px, \"dy\": px}");
      step.delta = {body.contains("dx") ? number(body, "dx", i) : 0.0,
                    body.contains("dy") ? number(body, "dy", i) : 0.0};
    } else if (key == "wait") {
      if (body.is_string() && body.get<std::string>() == "saved") {
        step.kind = ScriptStep::Kind::wait_saved;
      } else if (body.is_string() && body.get<std::string>() == "sharp") {
        step.kind = ScriptStep::Kind::wait_sharp;
      } else if (body.is_number() && body.get<double>() >= 0) {
        step.kind = ScriptStep::Kind::wait_ms;
        step.ms = body.get<double>();
      } else {
        bad(i, "\"wait\" takes \"sharp\", \"saved\" or a number of milliseconds");
      }
    } else if (key == "sync") {
      if (!body.is_boolean()) bad(i, "\"sync\" takes true or false");
      step.kind = ScriptStep::Kind::sync;
      step.sync = body.get<bool>();
    } else if (key == "screenshot") {
      if (!body.is_string() || body.get<std::string>().empty()) bad(i, "\"screenshot\" takes a file name");
      step.kind = ScriptStep::Kind::screenshot;
      step.path = body.get<std::string>();
    } else if (key == "click" || key == "double_click") {
      step.kind = ScriptStep::Kind::input;
      if (!is_point(body)) bad(i, "\"" + key + "\" takes [x, y] in level-0 pixels");
    } else if (key == "drag") {
      step.kind = ScriptStep::Kind::input;
      if (!body.is_object() || !is_point(body.value("from", nlohmann::json())) ||
          !is_point(body.value("to", nlohmann::json()))) {
        bad(i, "\"drag\" takes {\"from\": [x, y], \"to\": [x, y]} in level-0 pixels");
      }
    } else if (key == "tool" || key == "key" || key == "select" || key == "label") {
      step.kind = ScriptStep::Kind::input;
      if (!body.is_string()) bad(i, "\"" + key + "\" takes a string");
      static const std::vector<std::string> tools = {"select", "point", "ruler", "rectangle", "ellipse", "polygon", "freehand"};
      static const std::vector<std::string> keys = {"enter", "escape", "delete", "backspace", "undo", "redo"};
      const std::string v = body.get<std::string>();
      if (key == "tool" && std::find(tools.begin(), tools.end(), v) == tools.end()) bad(i, "unknown tool \"" + v + "\"");
      if (key == "key" && std::find(keys.begin(), keys.end(), v) == keys.end()) bad(i, "unknown key \"" + v + "\"");
    } else if (key == "import" || key == "export") {
      step.kind = ScriptStep::Kind::input;
      const bool ok = key == "import" ? body.is_string() && !body.get<std::string>().empty()
                                      : body.is_object() && body.value("path", std::string()) != "" &&
                                            body.value("format", std::string("geojson")) != "";
      if (!ok) bad(i, key == "import" ? "\"import\" takes a file name" : "\"export\" takes {\"format\": F, \"path\": P}");
    } else if (key == "report") {
      step.kind = ScriptStep::Kind::report;
      const bool word = body.is_string() && (body == "show" || body == "sign" || body == "record_impression");
      if (!word && !(body.is_object() && body.size() == 1)) {
        bad(i, "\"report\" takes \"show\", \"sign\", \"record_impression\" or one edit such as {\"revise\": {...}}");
      }
    } else {
      bad(i, "unknown step \"" + key + "\" (open, zoom, pan, wait, sync, screenshot, tool, click, double_click, drag, "
             "key, select, label, import, export, report)");
    }
    step.name = key;
    step.arg = body;
    steps.push_back(std::move(step));
  }
  return steps;
}

ScriptPlayer::ScriptPlayer(std::vector<ScriptStep> steps, double sharp_timeout_s)
    : steps_(std::move(steps)), sharp_timeout_s_(sharp_timeout_s) {}

ScriptAction ScriptPlayer::advance(double now, bool view_open, bool sharp) {
  if (!start_) start_ = now;
  // Sharpness reached: it closes the first view's wait and the last move's.
  if (view_open && sharp) {
    if (!first_complete_ms_ && open_started_) first_complete_ms_ = (now - *open_started_) * 1000.0;
    if (open_move_) {
      moves_[*open_move_].ms_until_sharp = (now - move_started_) * 1000.0;
      open_move_.reset();
    }
  }
  if (waiting_) {
    const ScriptStep& s = steps_[next_ - 1];
    bool done = false;
    switch (s.kind) {
      case ScriptStep::Kind::open:
      case ScriptStep::Kind::wait_sharp:
        done = view_open && sharp;
        break;
      case ScriptStep::Kind::wait_saved:
        done = saved_;
        break;
      case ScriptStep::Kind::wait_ms:
        done = (now - wait_start_) * 1000.0 >= s.ms;
        break;
      default:
        done = true;
    }
    if (!done && s.kind != ScriptStep::Kind::wait_ms && now - wait_start_ > sharp_timeout_s_) {
      throw std::runtime_error("script step " + std::to_string(next_) +
                               (s.kind == ScriptStep::Kind::wait_saved ? ": the server did not have every change after "
                                                                       : ": the view was not sharp after ") +
                               std::to_string(static_cast<int>(sharp_timeout_s_)) + " s");
    }
    if (!done) return {};
    waiting_ = false;
  }
  if (next_ >= steps_.size()) return {ScriptAction::Kind::finished, nullptr};
  const std::size_t index = next_++;
  const ScriptStep& s = steps_[index];
  switch (s.kind) {
    case ScriptStep::Kind::open:
      waiting_ = true;  // until the view is sharp
      wait_start_ = now;
      open_started_ = now;
      return {ScriptAction::Kind::open, &s};
    case ScriptStep::Kind::zoom:
    case ScriptStep::Kind::pan:
      open_move_ = moves_.size();
      moves_.push_back({index + 1, s.kind == ScriptStep::Kind::zoom ? "zoom" : "pan", std::nullopt});
      move_started_ = now;
      return {s.kind == ScriptStep::Kind::zoom ? ScriptAction::Kind::zoom : ScriptAction::Kind::pan, &s};
    case ScriptStep::Kind::wait_sharp:
    case ScriptStep::Kind::wait_ms:
    case ScriptStep::Kind::wait_saved:
      waiting_ = true;
      wait_start_ = now;
      return {};
    case ScriptStep::Kind::input:
      return {ScriptAction::Kind::input, &s};
    case ScriptStep::Kind::report:
      return {ScriptAction::Kind::report, &s};
    case ScriptStep::Kind::sync:
      return {ScriptAction::Kind::sync, &s};
    case ScriptStep::Kind::screenshot:
      return {ScriptAction::Kind::screenshot, &s};
  }
  return {};
}

double percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0.0;
  std::sort(values.begin(), values.end());
  const double rank = std::ceil(std::clamp(p, 0.0, 1.0) * static_cast<double>(values.size()));
  const auto i = static_cast<std::size_t>(std::max(rank, 1.0)) - 1;
  return values[std::min(i, values.size() - 1)];
}

}  // namespace reread::viewer
