// The frame loop: catalogue answers in, layout, panels, intents, navigation, drawing, headless tasks.
#include "app_main_loop.h"

#include <epoxy/gl.h>
#include <imgui.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <stdexcept>
#include <type_traits>
#include <vector>

#include "api_client.h"
#include "app_catalogue.h"
#include "app_intents.h"
#include "app_script.h"
#include "app_state.h"
#include "app_window.h"
#include "debug_panel.h"
#include "gl_capture.h"
#include "overview_panel.h"
#include "sidebar_panel.h"
#include "slide_view_panel.h"

namespace reread::viewer {
namespace {

using Clock = std::chrono::steady_clock;

// A headless task ended: the exit status, and what to print (on stderr when it failed).
struct Finished {
  int status = 0;
  std::string message;
};

std::size_t peak_rss_bytes() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<std::size_t>(usage.ru_maxrss) * 1024;  // Linux reports KiB
}

ThumbnailTexture make_thumbnail_texture(const RgbImage& image) {
  ThumbnailTexture t{make_gl_texture(), image.width, image.height};
  glBindTexture(GL_TEXTURE_2D, t.texture.get());
  glPixelStorei(GL_UNPACK_ALIGNMENT, 1);
  // Plain RGB8: ImGui draws with the framebuffer's sRGB encoding off, so sRGB values pass through as they are.
  glTexImage2D(GL_TEXTURE_2D, 0, GL_RGB8, image.width, image.height, 0, GL_RGB, GL_UNSIGNED_BYTE, image.pixels.data());
  glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MIN_FILTER, GL_LINEAR);
  glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MAG_FILTER, GL_LINEAR);
  glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_WRAP_S, GL_CLAMP_TO_EDGE);
  glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_WRAP_T, GL_CLAMP_TO_EDGE);
  glBindTexture(GL_TEXTURE_2D, 0);
  return t;
}

class ViewerApp {
 public:
  explicit ViewerApp(const AppOptions& options) : options_(options) {}

  int run();

 private:
  bool headless() const { return !options_.screenshot_path.empty() || !options_.script_path.empty(); }
  double now() const { return std::chrono::duration<double>(Clock::now() - start_).count(); }

  void open_remote_slide(const std::string& slide_id, const std::string& label, bool beside);
  void add_view(std::unique_ptr<SlideView> view, ViewPlacement placement);
  void take_catalogue_answers();
  void layout();
  void draw_panels(std::vector<Intent>& intents);
  void apply(const Intent& intent);
  template <class Fn>
  void for_targets(std::size_t view, Fn fn);
  void render();
  void retire(const SlideView& view);
  std::optional<Finished> screenshot_step();
  std::optional<Finished> script_step();
  std::string report() const;
  [[noreturn]] void fail(const std::string& message) { throw std::runtime_error(message); }

  const AppOptions& options_;
  Clock::time_point start_ = Clock::now();
  std::unique_ptr<AppWindow> window_;
  std::unique_ptr<GlTileProgram> program_;
  std::shared_ptr<ConnectionPool> connections_;  // tile connections, shared by the remote views
  std::unique_ptr<AppCatalogue> catalogue_;
  AppState state_;
  std::optional<ScriptPlayer> script_;
  bool open_first_slide_of_case_ = false;  // when the selected case arrives
  int slides_opening_ = 0;                 // asked of the catalogue, not yet answered
  bool initial_camera_pending_ = true;     // --center/--magnification for the first view
  double last_frame_time_ = 0;
  // Totals for the report, views gone included.
  std::size_t peak_texture_bytes_ = 0, peak_decoded_bytes_ = 0;
  std::uint64_t blank_frames_ = 0, flicker_samples_ = 0;  // once a view has been sharp
  std::uint64_t retired_arrived_ = 0, retired_drawn_ = 0, retired_never_drawn_ = 0, retired_bytes_ = 0;
};

int ViewerApp::run() {
  const bool remote = options_.slide_file.empty();
  state_.remote = remote;
  state_.source = remote ? options_.server_url : options_.slide_file;
  state_.ui = options_.screenshot_path.empty();
  // A script's views get the whole window (it may still open the sidebar): its timings are the slide's.
  state_.show_sidebar = state_.ui && options_.script_path.empty();
  state_.display = options_.display;
  if (!options_.script_path.empty()) {
    std::ifstream in(options_.script_path);
    if (!in) fail(options_.script_path + ": cannot read the script");
    const auto json = nlohmann::json::parse(in, nullptr, false);
    if (json.is_discarded()) fail(options_.script_path + ": not JSON");
    try {
      script_.emplace(parse_script(json), options_.timeout_s);
    } catch (const std::invalid_argument& e) {
      fail(options_.script_path + ": " + e.what());
    }
  }
  if (!options_.screenshot_path.empty() && remote && !options_.case_id && !options_.slide_id) {
    fail("--screenshot needs a slide: --slide ID, --case ID or a slide file");
  }
  // A local slide is opened before any window, so a bad file is reported at once.
  std::optional<SlideLayout> local_layout;
  if (!remote) local_layout = read_local_layout(options_.slide_file);

  window_ = std::make_unique<AppWindow>(options_.width, options_.height, "Reread", !headless());
  program_ = std::make_unique<GlTileProgram>();

  if (remote) {
    // Tile connections open while the window comes up and the catalogue asks its first questions.
    connections_ = std::make_shared<ConnectionPool>(parse_base_url(options_.server_url), std::chrono::seconds(3),
                                                    std::chrono::seconds(15));
    connections_->prewarm(options_.connections);
    catalogue_ = std::make_unique<AppCatalogue>(options_.server_url, options_.token);
    catalogue_->on_answer([] { AppWindow::wake(); });
    if (state_.ui) catalogue_->request_cases();
    if (options_.case_id) {
      state_.selected_case = *options_.case_id;
      catalogue_->request_case(*options_.case_id);
      open_first_slide_of_case_ = !options_.slide_id.has_value();
    }
    if (options_.slide_id) open_remote_slide(*options_.slide_id, "", true);
  } else {
    const std::string name = std::filesystem::path(options_.slide_file).filename().string();
    add_view(std::make_unique<SlideView>(name, name, *local_layout,
                                         make_local_provider(options_.slide_file, options_.local_threads), *program_,
                                         options_.view),
             {true, 0});
  }

  bool busy = true;
  while (!window_->should_close()) {
    // Wait for input when nothing moves or streams; poll (vsync paces) when something does.
    if (headless()) {
      window_->wait_events(busy ? 0.001 : 0.005);
    } else {
      window_->wait_events(busy ? 0.0 : 0.25);
    }
    const Clock::time_point frame_start = Clock::now();
    const double t = now();
    const double dt = std::clamp(t - last_frame_time_, 0.0, 0.1);
    last_frame_time_ = t;

    if (catalogue_) take_catalogue_answers();
    state_.catalogue_busy = catalogue_ && catalogue_->busy();
    layout();
    std::vector<Intent> intents;
    if (state_.ui) {
      window_->begin_ui_frame();
      if (!headless() && window_->take_tab_pressed()) intents.emplace_back(intent::ShowSidebar{!state_.show_sidebar});
      draw_panels(intents);
    }
    for (const Intent& i : intents) apply(i);
    layout();
    for (auto& v : state_.views) v->navigation().step(v->camera(), dt);
    render();
    if (state_.ui) window_->render_ui();

    std::optional<Finished> finished = screenshot_step();
    if (!finished) finished = script_step();
    window_->swap();

    const double frame_ms = std::chrono::duration<double, std::milli>(Clock::now() - frame_start).count();
    state_.frame_ms = frame_ms;
    state_.frame_ms_average =
        state_.frame_ms_average == 0 ? frame_ms : 0.95 * state_.frame_ms_average + 0.05 * frame_ms;
    if (script_ && !state_.views.empty()) script_->frame(frame_ms);
    if (finished) {
      if (finished->status == 0) {
        if (!finished->message.empty()) std::cout << finished->message << std::endl;
      } else {
        std::cerr << "reread-viewer: " << finished->message << std::endl;
      }
      return finished->status;
    }

    busy = false;
    for (const auto& v : state_.views) {
      const ViewFrameInfo& f = v->last_frame();
      busy = busy || v->navigation().moving() || !f.sharp || f.uploads > 0 || f.engine.pending > 0;
    }
  }
  return 0;
}

void ViewerApp::open_remote_slide(const std::string& slide_id, const std::string& label, bool beside) {
  if (!catalogue_) return;
  ++slides_opening_;
  catalogue_->request_slide(slide_id, label, {beside || state_.views.empty(), state_.focused});
}

void ViewerApp::add_view(std::unique_ptr<SlideView> view, ViewPlacement placement) {
  if (placement.beside || placement.replace >= state_.views.size()) {
    state_.views.push_back(std::move(view));
    state_.focused = state_.views.size() - 1;
  } else {
    retire(*state_.views[placement.replace]);
    state_.views[placement.replace] = std::move(view);
    state_.focused = placement.replace;
  }
  layout();
  SlideView& v = *state_.views[state_.focused];
  if (initial_camera_pending_) {
    initial_camera_pending_ = false;
    v.camera().quarter_turns = options_.quarter_turns;
    if (options_.quarter_turns % 2 != 0) v.fit();  // fit the turned slide
    if (options_.center || options_.magnification) {
      const Vec2 center = options_.center.value_or(v.camera().center);
      if (!v.jump_to(center, options_.magnification)) {
        fail("slide " + v.label() + " gives neither objective power nor MPP, so --magnification cannot be shown");
      }
    }
  }
}

void ViewerApp::take_catalogue_answers() {
  for (CatalogueAnswer& answer : catalogue_->take_answers()) {
    std::visit(
        [&](auto& a) {
          using T = std::decay_t<decltype(a)>;
          if constexpr (std::is_same_v<T, CaseList>) {
            state_.cases = std::move(a.cases);
            state_.cases_loaded = true;
          } else if constexpr (std::is_same_v<T, CaseDetail>) {
            if (state_.selected_case && *state_.selected_case != a.summary.id) return;  // another was chosen since
            if (state_.ui) {
              for (const CaseSlideRef& s : a.slides) {
                if (!state_.thumbnails.count(s.slide_id)) catalogue_->request_thumbnail(s.slide_id);
              }
            }
            if (open_first_slide_of_case_) {
              open_first_slide_of_case_ = false;
              if (a.slides.empty()) {
                if (headless()) fail("case " + std::to_string(a.summary.id) + " has no slides");
              } else {
                open_remote_slide(a.slides.front().slide_id, a.slides.front().label, false);
              }
            }
            state_.open_case = std::move(a);
          } else if constexpr (std::is_same_v<T, SlideToOpen>) {
            --slides_opening_;
            HttpProviderOptions p;
            p.base_url = options_.server_url;
            p.token = options_.token;
            p.slide_id = a.slide_id;
            p.connections = options_.connections;
            p.decoders = options_.decoders;
            p.pipeline_depth = options_.pipeline_depth;
            p.pool = connections_;
            add_view(std::make_unique<SlideView>(a.slide_id, a.label, a.layout, make_http_provider(p), *program_,
                                                 options_.view),
                     a.placement);
          } else if constexpr (std::is_same_v<T, Thumbnail>) {
            if (!a.image.empty()) state_.thumbnails[a.slide_id] = make_thumbnail_texture(a.image);
          } else if constexpr (std::is_same_v<T, CatalogueError>) {
            if (a.request == CatalogueError::Request::slide) --slides_opening_;
            state_.catalogue_error = a.operation + ": " + a.message;
            if (headless() && a.request != CatalogueError::Request::thumbnail) fail(state_.catalogue_error);
          }
        },
        answer);
  }
}

void ViewerApp::layout() {
  const double w = window_->width(), h = window_->height();
  const double sidebar = state_.ui && state_.show_sidebar ? std::min(340.0, std::floor(w * 0.35)) : 0.0;
  state_.sidebar = {0, 0, sidebar, h};
  const std::size_t n = state_.views.size();
  for (std::size_t i = 0; i < n; ++i) {
    const double x0 = std::floor(sidebar + (w - sidebar) * static_cast<double>(i) / static_cast<double>(n));
    const double x1 = std::floor(sidebar + (w - sidebar) * static_cast<double>(i + 1) / static_cast<double>(n));
    state_.views[i]->place({x0, 0, x1 - x0, h});
  }
  if (state_.focused >= n) state_.focused = n == 0 ? 0 : n - 1;
}

void ViewerApp::draw_panels(std::vector<Intent>& intents) {
  sidebar_panel(state_, intents);
  for (std::size_t i = 0; i < state_.views.size(); ++i) {
    slide_view_panel(state_, i, intents);
    overview_panel(state_, i, intents);
  }
  debug_panel(state_);
  if (state_.views.empty()) {
    const char* hint = state_.remote ? "Choose a case, then a slide" : "Opening the slide...";
    const ImVec2 size = ImGui::CalcTextSize(hint);
    const double cx = state_.sidebar.width + (window_->width() - state_.sidebar.width) / 2.0;
    ImGui::GetBackgroundDrawList()->AddText(
        ImVec2(static_cast<float>(cx) - size.x / 2, static_cast<float>(window_->height()) / 2 - size.y / 2),
        IM_COL32(200, 200, 200, 255), hint);
  }
}

template <class Fn>
void ViewerApp::for_targets(std::size_t view, Fn fn) {
  if (view >= state_.views.size()) return;
  if (state_.sync) {
    for (auto& v : state_.views) fn(*v);
  } else {
    fn(*state_.views[view]);
  }
}

void ViewerApp::apply(const Intent& intent) {
  const double t = now();
  std::visit(
      [&](const auto& i) {
        using T = std::decay_t<decltype(i)>;
        if constexpr (std::is_same_v<T, intent::RefreshCases>) {
          if (catalogue_) catalogue_->request_cases();
        } else if constexpr (std::is_same_v<T, intent::SelectCase>) {
          state_.selected_case = i.case_id;
          state_.open_case.reset();
          state_.catalogue_error.clear();
          if (catalogue_) catalogue_->request_case(i.case_id);
        } else if constexpr (std::is_same_v<T, intent::OpenSlide>) {
          state_.catalogue_error.clear();
          open_remote_slide(i.slide_id, i.label, i.beside);
        } else if constexpr (std::is_same_v<T, intent::CloseView>) {
          if (i.view < state_.views.size()) {
            retire(*state_.views[i.view]);
            state_.views.erase(state_.views.begin() + static_cast<std::ptrdiff_t>(i.view));
            if (state_.focused >= i.view && state_.focused > 0) --state_.focused;
          }
        } else if constexpr (std::is_same_v<T, intent::FocusView>) {
          if (i.view < state_.views.size()) state_.focused = i.view;
        } else if constexpr (std::is_same_v<T, intent::Drag>) {
          for_targets(i.view, [&](SlideView& v) { v.navigation().drag(v.camera(), i.delta, t); });
        } else if constexpr (std::is_same_v<T, intent::Release>) {
          for_targets(i.view, [&](SlideView& v) { v.navigation().release(t); });
        } else if constexpr (std::is_same_v<T, intent::Zoom>) {
          for_targets(i.view, [&](SlideView& v) { v.navigation().zoom_about(v.camera(), i.anchor, i.factor); });
        } else if constexpr (std::is_same_v<T, intent::PanBy>) {
          for_targets(i.view, [&](SlideView& v) { v.navigation().pan_by(i.delta); });
        } else if constexpr (std::is_same_v<T, intent::SetMagnification>) {
          for_targets(i.view, [&](SlideView& v) {
            const auto scale = scale_for_magnification(i.magnification, v.slide().objective_power, v.slide().mpp());
            if (scale) v.navigation().zoom_to(v.camera(), *scale);
          });
        } else if constexpr (std::is_same_v<T, intent::Fit>) {
          for_targets(i.view, [&](SlideView& v) { v.fit(); });
        } else if constexpr (std::is_same_v<T, intent::Rotate>) {
          for_targets(i.view, [&](SlideView& v) { v.camera().quarter_turns = (v.camera().quarter_turns + 1) % 4; });
        } else if constexpr (std::is_same_v<T, intent::CenterOn>) {
          if (i.view >= state_.views.size()) return;
          SlideView& source = *state_.views[i.view];
          // The picture's motion on screen, which synchronized views follow.
          const Vec2 from = source.camera().slide_to_screen(source.camera().center);
          const Vec2 to = source.camera().slide_to_screen(i.slide_point);
          const Vec2 delta{from.x - to.x, from.y - to.y};
          source.navigation().stop();
          source.camera().center = i.slide_point;
          source.navigation().clamp(source.camera());
          if (state_.sync) {
            for (auto& v : state_.views) {
              if (v.get() == &source) continue;
              v->navigation().stop();
              v->camera().pan_screen(delta);
              v->navigation().clamp(v->camera());
            }
          }
        } else if constexpr (std::is_same_v<T, intent::SetDisplay>) {
          state_.display = i.display;
        } else if constexpr (std::is_same_v<T, intent::SetSync>) {
          state_.sync = i.on;
        } else if constexpr (std::is_same_v<T, intent::ShowDebug>) {
          state_.show_debug = i.on;
        } else if constexpr (std::is_same_v<T, intent::ShowSidebar>) {
          state_.show_sidebar = i.on;
        }
      },
      intent);
}

void ViewerApp::render() {
  const int fbw = window_->framebuffer_width(), fbh = window_->framebuffer_height();
  if (fbw <= 0 || fbh <= 0) return;
  const double ratio = window_->pixel_ratio();
  glDisable(GL_FRAMEBUFFER_SRGB);
  glDisable(GL_SCISSOR_TEST);
  glViewport(0, 0, fbw, fbh);
  glClearColor(0.11f, 0.11f, 0.12f, 1.0f);  // outside the slide
  glClear(GL_COLOR_BUFFER_BIT);
  std::size_t textures = 0, decoded = 0;
  bool blank = false;
  for (auto& v : state_.views) {
    v->render(state_.display, fbh, ratio);
    const ViewFrameInfo& f = v->last_frame();
    textures += v->texture_bytes();
    decoded += f.engine.decoded_bytes;
    blank = blank || (f.ever_sharp && f.blank);
    flicker_samples_ += f.ever_sharp ? static_cast<std::uint64_t>(f.coarser) : 0;
  }
  blank_frames_ += blank ? 1 : 0;
  peak_texture_bytes_ = std::max(peak_texture_bytes_, textures);
  peak_decoded_bytes_ = std::max(peak_decoded_bytes_, decoded);
  if (!state_.ui) return;
  for (auto& v : state_.views) {
    const OverviewGeometry g = overview_geometry(*v);
    if (g.rect.width < 8 || v->rect().width < 200) continue;
    const GlViewport vp = to_gl_viewport(g.rect, fbh, ratio);
    glEnable(GL_SCISSOR_TEST);
    glScissor(vp.x, vp.y, vp.width, vp.height);
    glClearColor(0.05f, 0.05f, 0.06f, 1.0f);
    glClear(GL_COLOR_BUFFER_BIT);
    glDisable(GL_SCISSOR_TEST);
    v->render_overview(g.camera, g.rect, state_.display, fbh, ratio);
  }
}

void ViewerApp::retire(const SlideView& view) {
  const EngineStats& e = view.last_frame().engine;
  retired_arrived_ += e.tiles_arrived;
  retired_drawn_ += e.tiles_drawn_ever;
  retired_never_drawn_ += e.tiles_never_drawn;
  retired_bytes_ += e.provider.bytes;
}

std::optional<Finished> ViewerApp::screenshot_step() {
  if (options_.screenshot_path.empty()) return std::nullopt;
  if (!state_.views.empty()) {
    const SlideView& v = *state_.views[state_.focused];
    if (v.last_frame().sharp && !v.navigation().moving()) {
      const RgbImage image = read_framebuffer({0, 0, window_->framebuffer_width(), window_->framebuffer_height()});
      write_png(options_.screenshot_path, image);
      return Finished{0, "wrote " + options_.screenshot_path + " (" + std::to_string(image.width) + "x" +
                             std::to_string(image.height) + ", level " + std::to_string(v.last_frame().target_level) +
                             ", " + std::to_string(v.last_frame().drawn) + " tiles drawn)"};
    }
  }
  if (now() > options_.timeout_s) {
    std::string why = "no view opened";
    if (!state_.views.empty()) {
      const ViewFrameInfo& f = state_.views[state_.focused]->last_frame();
      why = std::to_string(f.engine.pending) + " tiles still pending at level " + std::to_string(f.target_level) +
            " (requested " + std::to_string(f.engine.provider.requested) + ", arrived " +
            std::to_string(f.engine.provider.arrived) + ", failed " + std::to_string(f.engine.provider.failed) + ")";
      if (!f.engine.provider.last_error.empty()) why += "; last error: " + f.engine.provider.last_error;
    }
    return Finished{
        1, "screenshot timed out after " + std::to_string(static_cast<int>(options_.timeout_s)) + " s: " + why};
  }
  return std::nullopt;
}

std::optional<Finished> ViewerApp::script_step() {
  if (!script_) return std::nullopt;
  // Every view opened, and every one drawn sharp and at rest.
  const bool open = !state_.views.empty() && slides_opening_ == 0 && !open_first_slide_of_case_;
  const bool sharp = open && std::all_of(state_.views.begin(), state_.views.end(), [](const auto& v) {
                       return v->last_frame().sharp && !v->navigation().moving();
                     });
  const ScriptAction action = script_->advance(now(), open, sharp);
  switch (action.kind) {
    case ScriptAction::Kind::none:
      break;
    case ScriptAction::Kind::open: {
      const ScriptStep& s = *action.step;
      if (!state_.remote) break;  // a local slide is open from the start
      if (s.case_id) {
        state_.selected_case = *s.case_id;
        open_first_slide_of_case_ = s.slide_id.empty();
        catalogue_->request_case(*s.case_id);
      }
      if (!s.slide_id.empty()) open_remote_slide(s.slide_id, "", s.beside);
      break;
    }
    case ScriptAction::Kind::sync:
      state_.sync = action.step->sync;
      break;
    case ScriptAction::Kind::screenshot:
      write_png(action.step->path,
                read_framebuffer({0, 0, window_->framebuffer_width(), window_->framebuffer_height()}));
      break;
    case ScriptAction::Kind::zoom: {
      if (!open) fail("script: \"zoom\" before any slide is open");
      for_targets(state_.focused, [&](SlideView& v) {
        if (!v.jump_to(action.step->center.value_or(v.camera().center), action.step->magnification)) {
          fail("script: slide " + v.label() + " gives neither objective power nor MPP for a magnification");
        }
      });
      break;
    }
    case ScriptAction::Kind::pan:
      if (!open) fail("script: \"pan\" before any slide is open");
      // A jump, as a scripted zoom is (an arrow key's pan is animated).
      for_targets(state_.focused, [&](SlideView& v) {
        v.navigation().stop();
        v.camera().pan_screen(action.step->delta);
        v.navigation().clamp(v.camera());
      });
      break;
    case ScriptAction::Kind::finished: {
      const std::string text = report();
      if (options_.report_path.empty()) return Finished{0, text};
      std::ofstream out(options_.report_path, std::ios::trunc);
      out << text << "\n";
      if (!out) return Finished{1, options_.report_path + ": cannot write the report"};
      return Finished{0, "wrote " + options_.report_path};
    }
  }
  return std::nullopt;
}

std::string ViewerApp::report() const {
  std::uint64_t arrived = retired_arrived_, drawn = retired_drawn_, never = retired_never_drawn_,
                bytes = retired_bytes_;
  for (const auto& v : state_.views) {
    const EngineStats& e = v->last_frame().engine;
    arrived += e.tiles_arrived;
    drawn += e.tiles_drawn_ever;
    never += e.tiles_never_drawn;
    bytes += e.provider.bytes;
  }
  nlohmann::json moves = nlohmann::json::array();
  for (const auto& m : script_->moves()) {
    moves.push_back({{"step", m.step},
                     {"kind", m.kind},
                     {"ms_until_sharp", m.ms_until_sharp ? nlohmann::json(*m.ms_until_sharp) : nlohmann::json()}});
  }
  const auto& frames = script_->frame_ms();
  const auto first = script_->time_to_first_complete_view_ms();
  nlohmann::json r = {
      {"source", state_.source},
      {"renderer", window_->renderer()},
      {"viewport", {window_->framebuffer_width(), window_->framebuffer_height()}},
      {"duration_ms", now() * 1000.0},
      {"time_to_first_complete_view_ms", first ? nlohmann::json(*first) : nlohmann::json()},
      {"moves", moves},
      {"frame_ms",
       {{"count", frames.size()},
        {"p50", percentile(frames, 0.5)},
        {"p99", percentile(frames, 0.99)},
        {"max", frames.empty() ? 0.0 : *std::max_element(frames.begin(), frames.end())}}},
      // Once a view had been sharp: frames where part of the slide in view had nothing drawn, and sample
      // points that turned coarser while the camera stood still.
      {"blank_frames", blank_frames_},
      {"flicker_samples", flicker_samples_},
      {"tiles", {{"fetched", arrived}, {"drawn", drawn}, {"never_shown", never}}},
      {"bytes", bytes},
      {"peak_texture_bytes", peak_texture_bytes_},
      {"peak_decoded_bytes", peak_decoded_bytes_},
      {"peak_rss_bytes", peak_rss_bytes()},
  };
  return r.dump(2);
}

}  // namespace

int run_viewer(const AppOptions& options) {
  try {
    ViewerApp app(options);
    return app.run();
  } catch (const std::exception& e) {
    std::cerr << "reread-viewer: " << e.what() << std::endl;
    return 1;
  }
}

}  // namespace reread::viewer
