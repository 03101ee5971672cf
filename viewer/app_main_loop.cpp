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
#include <map>
#include <memory>
#include <stdexcept>
#include <type_traits>
#include <vector>

#include "api_client.h"
#include "app_catalogue.h"
#include "app_record.h"
#include "app_intents.h"
#include "app_script.h"
#include "app_state.h"
#include "app_window.h"
#include "debug_panel.h"
#include "gl_annotation_renderer.h"
#include "gl_capture.h"
#include "overview_panel.h"
#include "report_column.h"
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
  void apply_pointer(const intent::Pointer& p);
  void apply_report(const ReportIntent& what);
  SlideView* focused_view() { return state_.views.empty() ? nullptr : state_.views[state_.focused].get(); }
  AnnotationDocument* focused_document() {
    SlideView* v = focused_view();
    return v != nullptr && v->annotations() != nullptr ? v->annotations()->document : nullptr;
  }
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
  void script_input(const ScriptStep& step);
  void script_report(const ScriptStep& step);
  std::string report() const;
  [[noreturn]] void fail(const std::string& message) { throw std::runtime_error(message); }

  const AppOptions& options_;
  Clock::time_point start_ = Clock::now();
  std::unique_ptr<AppWindow> window_;
  std::unique_ptr<GlTileProgram> program_;
  std::shared_ptr<ConnectionPool> connections_;  // tile connections, shared by the remote views
  std::unique_ptr<AppCatalogue> catalogue_;
  std::unique_ptr<AppRecord> record_;  // remote only
  std::unique_ptr<GlAnnotationRenderer> annotation_renderer_;
  std::optional<std::int64_t> report_case_;  // the case whose report was asked for
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
  std::map<int, std::uint64_t> retired_never_by_level_;
  // Script runs: each frame's CPU time by phase (ms), for the report.
  struct FramePhases {
    double panels = 0, plan = 0, upload = 0, draw = 0, check = 0, annotations = 0, ui = 0, swap = 0;
  };
  std::vector<FramePhases> phases_;
  double annotations_ms_ = 0;  // this frame's outlines: level-of-detail picking and draw calls
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
  annotation_renderer_ = std::make_unique<GlAnnotationRenderer>();

  if (remote) {
    // Tile connections open while the window comes up and the catalogue asks its first questions.
    connections_ = std::make_shared<ConnectionPool>(parse_base_url(options_.server_url), std::chrono::seconds(3),
                                                    std::chrono::seconds(15));
    connections_->prewarm(options_.connections);
    catalogue_ = std::make_unique<AppCatalogue>(options_.server_url, options_.token);
    record_ = std::make_unique<AppRecord>(
        options_.server_url, options_.token,
        outbox_journal_path(options_.state_dir, options_.server_url, options_.token));
    state_.record = record_.get();
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
    if (record_) record_->pump(t, catalogue_.get());
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
    const Clock::time_point render_start = Clock::now();
    render();
    const Clock::time_point ui_start = Clock::now();
    if (state_.ui) window_->render_ui();

    std::optional<Finished> finished = screenshot_step();
    if (!finished) finished = script_step();
    const Clock::time_point swap_start = Clock::now();
    window_->swap();
    if (script_ && !state_.views.empty()) {
      const auto ms = [](Clock::time_point a, Clock::time_point b) {
        return std::chrono::duration<double, std::milli>(b - a).count();
      };
      FramePhases p;
      p.panels = ms(frame_start, render_start);
      for (const auto& v : state_.views) {
        const ViewFrameInfo& f = v->last_frame();
        p.plan += f.plan_ms, p.upload += f.upload_ms, p.draw += f.draw_ms, p.check += f.check_ms;
      }
      p.annotations = annotations_ms_;
      p.ui = ms(ui_start, swap_start);
      p.swap = ms(swap_start, Clock::now());
      phases_.push_back(p);
    }

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
            // A slide of the open case carries that case's annotations, and the case's report is loaded.
            if (record_ && state_.selected_case) {
              const std::int64_t case_id = *state_.selected_case;
              SlideView& v = *state_.views[state_.focused];
              v.attach_annotations(case_id, record_->document(case_id, a.slide_id));
              v.annotations()->tools->set_tool(state_.tool);
              v.annotations()->tools->set_current_class(state_.annotation_class, state_.annotation_color);
              catalogue_->request_annotations(case_id, a.slide_id);
              if (report_case_ != case_id) {
                report_case_ = case_id;
                catalogue_->request_report(case_id);
              }
            }
          } else if constexpr (std::is_same_v<T, Thumbnail>) {
            if (!a.image.empty()) state_.thumbnails[a.slide_id] = make_thumbnail_texture(a.image);
          } else if constexpr (std::is_same_v<T, AnnotationsLoaded>) {
            if (record_) record_->load_annotations(a);
          } else if constexpr (std::is_same_v<T, ReportLoaded>) {
            if (record_) record_->load_report(a);
            if (!a.done.empty()) state_.file_message = "Report " + a.done;
          } else if constexpr (std::is_same_v<T, FileDone>) {
            state_.file_message = a.message;
            if (!a.slide_id.empty()) catalogue_->request_annotations(a.case_id, a.slide_id);
          } else if constexpr (std::is_same_v<T, CatalogueError>) {
            if (a.request == CatalogueError::Request::slide) --slides_opening_;
            state_.catalogue_error = a.operation + ": " + a.message;
            if (headless() && a.request != CatalogueError::Request::thumbnail &&
                a.request != CatalogueError::Request::annotations && a.request != CatalogueError::Request::report) {
              fail(state_.catalogue_error);
            }
          }
        },
        answer);
  }
}

void ViewerApp::layout() {
  const double w = window_->width(), h = window_->height();
  const double sidebar = state_.ui && state_.show_sidebar ? std::min(340.0, std::floor(w * 0.35)) : 0.0;
  state_.sidebar = {0, 0, sidebar, h};
  // The report column on the right: the original beside the consult report needs room.
  const bool report = state_.ui && state_.show_report && record_ && record_->draft();
  const double column = report ? std::min(720.0, std::floor((w - sidebar) * 0.5)) : 0.0;
  state_.report_column = {w - column, 0, column, h};
  const double right = w - column;
  const std::size_t n = state_.views.size();
  for (std::size_t i = 0; i < n; ++i) {
    const double x0 = std::floor(sidebar + (right - sidebar) * static_cast<double>(i) / static_cast<double>(n));
    const double x1 = std::floor(sidebar + (right - sidebar) * static_cast<double>(i + 1) / static_cast<double>(n));
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
  report_column(state_, intents);
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
        } else if constexpr (std::is_same_v<T, intent::Pointer>) {
          apply_pointer(i);
        } else if constexpr (std::is_same_v<T, intent::ToolKey>) {
          if (i.view < state_.views.size()) {
            if (auto* a = state_.views[i.view]->annotations()) a->tools->key(i.key);
          }
        } else if constexpr (std::is_same_v<T, intent::SetTool>) {
          state_.tool = i.tool;
          for (auto& v : state_.views) {
            if (auto* a = v->annotations()) a->tools->set_tool(i.tool);
          }
        } else if constexpr (std::is_same_v<T, intent::SetAnnotationClass>) {
          state_.annotation_class = i.name;
          state_.annotation_color = i.color;
          for (auto& v : state_.views) {
            if (auto* a = v->annotations()) a->tools->set_current_class(i.name, i.color);
          }
        } else if constexpr (std::is_same_v<T, intent::ShowAnnotationClass>) {
          if (AnnotationDocument* d = focused_document()) d->set_class_visible(i.name, i.on);
        } else if constexpr (std::is_same_v<T, intent::SelectAnnotation>) {
          AnnotationDocument* d = focused_document();
          const ViewerAnnotation* a = d != nullptr ? d->find(i.uid) : nullptr;
          if (a == nullptr) return;
          d->select(i.uid);
          const auto b = annotation::bounds(a->geometry);
          apply(intent::CenterOn{state_.focused, {(b.min_x + b.max_x) / 2, (b.min_y + b.max_y) / 2}});
        } else if constexpr (std::is_same_v<T, intent::EditAnnotation>) {
          AnnotationDocument* d = focused_document();
          const ViewerAnnotation* a = d != nullptr ? d->find(i.uid) : nullptr;
          if (a == nullptr) return;
          ViewerAnnotation changed = *a;
          changed.label = i.label;
          changed.comment = i.comment;
          changed.class_name = i.class_name;
          changed.color = i.color;
          d->replace(changed);
        } else if constexpr (std::is_same_v<T, intent::DeleteAnnotation>) {
          if (AnnotationDocument* d = focused_document()) d->remove(i.uid);
        } else if constexpr (std::is_same_v<T, intent::Undo>) {
          if (AnnotationDocument* d = focused_document()) d->undo();
        } else if constexpr (std::is_same_v<T, intent::Redo>) {
          if (AnnotationDocument* d = focused_document()) d->redo();
        } else if constexpr (std::is_same_v<T, intent::ImportAnnotations>) {
          SlideView* v = focused_view();
          if (v != nullptr && v->annotations() != nullptr && catalogue_) {
            catalogue_->request_import(v->annotations()->case_id, v->slide_id(), i.path);
          }
        } else if constexpr (std::is_same_v<T, intent::ExportAnnotations>) {
          SlideView* v = focused_view();
          if (v != nullptr && v->annotations() != nullptr && catalogue_) {
            catalogue_->request_export(v->annotations()->case_id, v->slide_id(), i.format, i.path);
          }
        } else if constexpr (std::is_same_v<T, intent::ResolveConflict>) {
          if (record_) record_->resolve(i.item, i.keep_mine);
        } else if constexpr (std::is_same_v<T, intent::DismissRejected>) {
          if (record_) record_->dismiss(i.id);
        } else if constexpr (std::is_same_v<T, intent::ShowReport>) {
          state_.show_report = i.on;
        } else if constexpr (std::is_same_v<T, intent::Report>) {
          apply_report(i.what);
        }
      },
      intent);
}

void ViewerApp::apply_pointer(const intent::Pointer& p) {
  if (p.view >= state_.views.size()) return;
  SlideView& v = *state_.views[p.view];
  using Kind = intent::Pointer::Kind;
  // The annotation tools first (in slide coordinates, with a screen pixel's size for their tolerances).
  if (SlideView::Annotations* a = v.annotations(); a != nullptr && p.view == state_.focused) {
    const Vec2 at = v.camera().screen_to_slide(p.at);
    const double pixel = 1.0 / v.camera().scale;
    bool taken = false;
    switch (p.kind) {
      case Kind::down:
        taken = a->tools->pointer_down(at, pixel, p.modifiers);
        break;
      case Kind::move:
        taken = a->tools->pointer_move(at, pixel);
        break;
      case Kind::up:
        taken = a->tools->pointer_up(at, pixel);
        break;
      case Kind::double_click:
        taken = a->tools->double_click(at, pixel);
        break;
    }
    if (taken) return;
  }
  // Else the pointer moves the slide.
  const double t = now();
  switch (p.kind) {
    case Kind::down:
      break;
    case Kind::move:
      if (p.delta.x != 0 || p.delta.y != 0) {
        for_targets(p.view, [&](SlideView& s) { s.navigation().drag(s.camera(), p.delta, t); });
      }
      break;
    case Kind::up:
      for_targets(p.view, [&](SlideView& s) { s.navigation().release(t); });
      break;
    case Kind::double_click:
      for_targets(p.view, [&](SlideView& s) { s.navigation().zoom_about(s.camera(), p.at, 2.0); });
      break;
  }
}

void ViewerApp::apply_report(const ReportIntent& what) {
  if (!record_ || !record_->draft()) return;
  ReportDraft& draft = *record_->draft();
  std::visit(
      [&](const auto& r) {
        using T = std::decay_t<decltype(r)>;
        if constexpr (std::is_same_v<T, ReportEdit>) {
          if (draft.apply(r)) record_->draft_edited(now());
        } else if constexpr (std::is_same_v<T, report_intent::RecordImpression>) {
          record_->record_impression();
        } else if constexpr (std::is_same_v<T, report_intent::Sign>) {
          if (draft.can_sign()) catalogue_->request_sign(draft.case_id(), draft.version());
        } else if constexpr (std::is_same_v<T, report_intent::AddAddendum>) {
          if (!r.text.empty()) catalogue_->request_addendum(draft.case_id(), r.text);
        } else if constexpr (std::is_same_v<T, report_intent::CentreOnAnnotation>) {
          for (std::size_t k = 0; k < state_.views.size(); ++k) {
            const SlideView::Annotations* a = state_.views[k]->annotations();
            if (a == nullptr) continue;
            for (const ViewerAnnotation& an : a->document->all()) {
              if (an.server_id != r.annotation_id) continue;
              state_.focused = k;
              apply(intent::SelectAnnotation{an.uid});
              return;
            }
          }
        } else if constexpr (std::is_same_v<T, report_intent::ExportPdf>) {
          const std::string name = "report-" + (draft.accession().empty() ? std::to_string(draft.case_id())
                                                                             : draft.accession()) + ".pdf";
          catalogue_->request_report_pdf(draft.case_id(), name);
        }
      },
      what);
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
  std::vector<OutlineRange> strips;
  annotations_ms_ = 0;
  for (auto& v : state_.views) {
    v->render(state_.display, fbh, ratio);
    const Clock::time_point t0 = Clock::now();
    v->annotation_strips(strips);
    if (v->annotations() != nullptr) {
      annotation_renderer_->draw(v->annotations()->outlines, strips, v->camera(),
                                 to_gl_viewport(v->rect(), fbh, ratio));
    }
    annotations_ms_ += std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
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
  for (std::size_t level = 0; level < e.arrived_by_level.size(); ++level) {
    retired_never_by_level_[static_cast<int>(level)] += e.arrived_by_level[level] - e.drawn_by_level[level];
  }
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
  if (record_) {
    const auto& draft = record_->draft();
    script_->set_saved(record_->outbox_status().pending == 0 && (!draft || !draft->dirty()) &&
                       !(catalogue_ && catalogue_->busy()));
  }
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
    case ScriptAction::Kind::input:
      script_input(*action.step);
      break;
    case ScriptAction::Kind::report:
      script_report(*action.step);
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

void ViewerApp::script_input(const ScriptStep& step) {
  SlideView* v = focused_view();
  if (v == nullptr) fail("script: \"" + step.name + "\" before any slide is open");
  const std::size_t i = state_.focused;
  const auto screen = [&](const nlohmann::json& p) {
    return v->camera().slide_to_screen({p[0].get<double>(), p[1].get<double>()});
  };
  using Kind = intent::Pointer::Kind;
  const std::string word = step.arg.is_string() ? step.arg.get<std::string>() : std::string();
  if (step.name == "tool") {
    static const std::map<std::string, Tool> tools = {
        {"select", Tool::select},       {"point", Tool::point},     {"ruler", Tool::ruler},
        {"rectangle", Tool::rectangle}, {"ellipse", Tool::ellipse}, {"polygon", Tool::polygon},
        {"freehand", Tool::freehand}};
    apply(intent::SetTool{tools.at(word)});
  } else if (step.name == "click") {
    const Vec2 at = screen(step.arg);
    apply(intent::Pointer{i, Kind::down, at, {}, {}});
    apply(intent::Pointer{i, Kind::up, at, {}, {}});
  } else if (step.name == "double_click") {
    // As the window reports one: press, release, press (the double-click), release.
    const Vec2 at = screen(step.arg);
    apply(intent::Pointer{i, Kind::down, at, {}, {}});
    apply(intent::Pointer{i, Kind::up, at, {}, {}});
    apply(intent::Pointer{i, Kind::down, at, {}, {}});
    apply(intent::Pointer{i, Kind::double_click, at, {}, {}});
    apply(intent::Pointer{i, Kind::up, at, {}, {}});
  } else if (step.name == "drag") {
    const Vec2 from = screen(step.arg["from"]), to = screen(step.arg["to"]);
    apply(intent::Pointer{i, Kind::down, from, {}, {}});
    Vec2 last = from;
    constexpr int kMoves = 12;
    for (int k = 1; k <= kMoves; ++k) {
      const double f = static_cast<double>(k) / kMoves;
      const Vec2 at{from.x + (to.x - from.x) * f, from.y + (to.y - from.y) * f};
      apply(intent::Pointer{i, Kind::move, at, {at.x - last.x, at.y - last.y}, {}});
      last = at;
    }
    apply(intent::Pointer{i, Kind::up, to, {}, {}});
  } else if (step.name == "key") {
    if (word == "undo") {
      apply(intent::Undo{});
    } else if (word == "redo") {
      apply(intent::Redo{});
    } else {
      static const std::map<std::string, Key> keys = {
          {"enter", Key::enter}, {"escape", Key::escape}, {"delete", Key::del}, {"backspace", Key::backspace}};
      apply(intent::ToolKey{i, keys.at(word)});
    }
  } else if (step.name == "import") {
    apply(intent::ImportAnnotations{word});
  } else if (step.name == "export") {
    apply(intent::ExportAnnotations{step.arg.value("format", std::string("geojson")), step.arg.value("path", std::string())});
  } else if (step.name == "select" || step.name == "label") {
    AnnotationDocument* d = focused_document();
    if (d == nullptr) fail("script: the focused view has no annotations");
    if (step.name == "select") {
      for (const ViewerAnnotation& a : d->all()) {
        if (a.label == word) {
          apply(intent::SelectAnnotation{a.uid});
          return;
        }
      }
      fail("script: no annotation labelled \"" + word + "\"");
    }
    const ViewerAnnotation* s = d->find(d->selected());
    if (s == nullptr) fail("script: \"label\" needs a selected annotation");
    apply(intent::EditAnnotation{s->uid, word, s->comment, s->class_name, s->color});
  }
}

void ViewerApp::script_report(const ScriptStep& step) {
  if (!record_ || !record_->draft()) fail("script: \"report\" before the case's report is loaded");
  const nlohmann::json& a = step.arg;
  if (a.is_string()) {
    if (a == "show") {
      apply(intent::ShowReport{true});
    } else if (a == "sign") {
      if (const Permission p = record_->draft()->can_sign(); !p) fail("script: the report cannot be signed: " + p.reason);
      apply(intent::Report{report_intent::Sign{}});
    } else {
      apply(intent::Report{report_intent::RecordImpression{}});
    }
    return;
  }
  const std::string what = a.begin().key();
  const nlohmann::json& v = a.begin().value();
  if (what == "export_pdf") {  // the panel's Export PDF button, to a chosen file
    if (!v.is_string()) fail("script: \"export_pdf\" takes a file name");
    catalogue_->request_report_pdf(record_->draft()->case_id(), v.get<std::string>());
    return;
  }
  const auto text = [&](const char* key) { return v.value(key, std::string()); };
  ReportEdit edit;
  if (what == "revise") {
    edit = report_edit::Revise{text("field"), text("text")};
  } else if (what == "confirm") {
    edit = report_edit::Confirm{v.is_string() ? v.get<std::string>() : std::string()};
  } else if (what == "discrepancy") {
    const auto d = parse_discrepancy(v.is_string() ? v.get<std::string>() : std::string());
    if (!d) fail("script: unknown discrepancy " + v.dump());
    edit = report_edit::ChooseDiscrepancy{*d};
  } else if (what == "text") {
    edit = report_edit::SetText{text("key"), text("text")};
  } else if (what == "impression") {
    edit = report_edit::SetImpression{text("key"), text("text")};
  } else if (what == "reference") {
    const std::string label = v.is_string() ? v.get<std::string>() : std::string();
    std::optional<std::int64_t> id;
    for (const auto& view : state_.views) {
      if (const SlideView::Annotations* an = view->annotations()) {
        for (const ViewerAnnotation& x : an->document->all()) {
          if (x.label == label && x.server_id) id = x.server_id;
        }
      }
    }
    if (!id) fail("script: no stored annotation labelled \"" + label + "\" to refer to");
    edit = report_edit::InsertReference{*id, "free_text", std::string::npos};
  } else {
    fail("script: unknown report step \"" + what + "\"");
  }
  if (!record_->draft()->apply(edit)) fail("script: the report refused " + a.dump());
  record_->draft_edited(now());
}

std::string ViewerApp::report() const {
  std::uint64_t arrived = retired_arrived_, drawn = retired_drawn_, never = retired_never_drawn_,
                bytes = retired_bytes_;
  std::map<int, std::uint64_t> never_by_level = retired_never_by_level_;
  for (const auto& v : state_.views) {
    const EngineStats& e = v->last_frame().engine;
    arrived += e.tiles_arrived;
    drawn += e.tiles_drawn_ever;
    never += e.tiles_never_drawn;
    bytes += e.provider.bytes;
    for (std::size_t level = 0; level < e.arrived_by_level.size(); ++level) {
      never_by_level[static_cast<int>(level)] += e.arrived_by_level[level] - e.drawn_by_level[level];
    }
  }
  nlohmann::json never_levels = nlohmann::json::object();
  for (const auto& [level, count] : never_by_level) {
    if (count > 0) never_levels[std::to_string(level)] = count;
  }
  nlohmann::json phases = nlohmann::json::object();
  for (const auto& [name, field] : std::vector<std::pair<const char*, double FramePhases::*>>{
           {"panels", &FramePhases::panels}, {"plan", &FramePhases::plan},     {"upload", &FramePhases::upload},
           {"draw", &FramePhases::draw},     {"check", &FramePhases::check},
           {"annotations", &FramePhases::annotations}, {"ui", &FramePhases::ui},
           {"swap", &FramePhases::swap}}) {
    std::vector<double> values;
    for (const FramePhases& p : phases_) values.push_back(p.*field);
    phases[name] = {{"p50", percentile(values, 0.5)}, {"p99", percentile(values, 0.99)}};
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
      {"tiles", {{"fetched", arrived}, {"drawn", drawn}, {"never_shown", never}, {"never_shown_by_level", never_levels}}},
      // CPU ms per frame by phase: panels (input, catalogue, ImGui layout), plan (engine), upload (textures),
      // draw (tile draw calls), check (blank/flicker sampling), annotations (outlines: level of detail and
      // draw calls), ui (ImGui render), swap (the GPU's work).
      {"frame_phases_ms", phases},
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
